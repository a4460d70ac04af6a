"""WeCom screens: the callback endpoint, connection settings, members, handover results."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from huitouke.wecom import callbacks
from huitouke.wecom.client import WeComError
from huitouke.wecom.crypto import CallbackError
from huitouke.wecom.models import WeComConnection

logger = logging.getLogger("huitouke.wecom")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, org_id: int) -> HttpResponse:
    """WeCom's callback URL: echostr verification (GET) and change_external_contact (POST)."""
    connection = WeComConnection.objects.filter(organisation_id=org_id).first()
    if connection is None or not (connection.token_enc and connection.aes_key_enc):
        return HttpResponseNotFound("not configured", content_type="text/plain")
    params = {
        "msg_signature": request.GET.get("msg_signature", ""),
        "timestamp": request.GET.get("timestamp", ""),
        "nonce": request.GET.get("nonce", ""),
    }
    try:
        if request.method == "GET":
            echo = callbacks.verify_url(
                connection, echostr=request.GET.get("echostr", ""), **params
            )
            return HttpResponse(echo, content_type="text/plain")
        outcome = callbacks.receive(connection, body=request.body, **params)
    except CallbackError as error:
        logger.warning("wecom callback refused for org %s: %s", org_id, error.reason)
        return HttpResponseForbidden("refused", content_type="text/plain")
    except WeComError as error:
        # WeCom retries a callback that is not answered with success: let it.
        logger.warning("wecom callback for org %s could not read WeCom: %s", org_id, error.errcode)
        return HttpResponse("retry", status=503, content_type="text/plain")
    logger.info("wecom callback for org %s: %s", org_id, outcome)
    return HttpResponse("success", content_type="text/plain")
