"""WeCom screens: the callback endpoint, connection settings, members, handover results."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role, User
from huitouke.accounts.scoping import staff_q
from huitouke.customers.models import Customer
from huitouke.wecom import callbacks, tasks
from huitouke.wecom.actions import do_map_member, do_save_connection, do_test_connection
from huitouke.wecom.client import WeComError
from huitouke.wecom.crypto import CallbackError
from huitouke.wecom.forms import ConnectionForm
from huitouke.wecom.models import WeComConnection, WeComMember, WeComTransfer
from huitouke.wecom.transfers import poll_transfers

logger = logging.getLogger("huitouke.wecom")

SYNC_COUNT_LABELS = (
    ("contacts", gettext_lazy("contacts in WeCom")),
    ("created", gettext_lazy("new customers")),
    ("linked", gettext_lazy("linked to existing customers")),
    ("follows_changed", pgettext_lazy("wecom sync", "updated")),
    ("unchanged", pgettext_lazy("wecom sync", "unchanged")),
)


def _owner(request: AuthedRequest) -> None:
    if request.user.role != Role.OWNER or request.user.organisation_id is None:
        raise PermissionDenied


def _connection(request: AuthedRequest) -> WeComConnection | None:
    return WeComConnection.objects.filter(organisation_id=request.user.organisation_id).first()


@login_required
def settings_page(request: AuthedRequest) -> HttpResponse:
    _owner(request)
    connection = _connection(request)
    form = ConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        organisation = request.user.organisation
        assert organisation is not None
        try:
            do_save_connection(
                organisation, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("WeCom settings saved."))
            return redirect("wecom:settings")
    members = (
        WeComMember.objects.filter(organisation_id=request.user.organisation_id)
        .select_related("staff")
        .order_by("name", "userid")
    )
    counts = (connection.last_sync_counts if connection else {}) or {}
    context = {
        "form": form,
        "connection": connection,
        "members": members,
        "staff": User.objects.filter(staff_q(request.user), is_active=True),
        "sync_counts": [(label, counts.get(key, 0)) for key, label in SYNC_COUNT_LABELS],
        "callback_url": request.build_absolute_uri(
            reverse("wecom:callback", args=[request.user.organisation_id])
        ),
        "active_nav": "wecom",
    }
    return render(request, "wecom/settings.html", context)


@login_required
@require_POST
def test_connection(request: AuthedRequest) -> HttpResponse:
    _owner(request)
    connection = _connection(request)
    if connection is None or not connection.is_complete:
        messages.error(request, _("Enter the corp ID and the customer contact secret first."))
    elif do_test_connection(connection, actor=request.user):
        messages.success(request, _("Connected to WeCom."))
    else:
        messages.error(
            request,
            _("WeCom refused the connection (%(error)s). Check the corp ID and secret.")
            % {"error": connection.last_error},
        )
    return redirect("wecom:settings")


@login_required
@require_POST
def sync(request: AuthedRequest) -> HttpResponse:
    _owner(request)
    connection = _connection(request)
    if connection is None or not connection.is_complete:
        messages.error(request, _("Enter the corp ID and the customer contact secret first."))
        return redirect("wecom:settings")
    tasks.sync_contacts(connection.pk, request.user.pk)
    messages.success(request, _("Sync started. The counts below are updated when it has finished."))
    return redirect("wecom:settings")


@login_required
@require_POST
def map_member(request: AuthedRequest, pk: int) -> HttpResponse:
    _owner(request)
    member = get_object_or_404(WeComMember, pk=pk, organisation_id=request.user.organisation_id)
    staff_id = request.POST.get("staff") or ""
    staff = None
    if staff_id:
        staff = get_object_or_404(User.objects.filter(staff_q(request.user)), pk=staff_id)
    do_map_member(member, staff=staff, actor=request.user)
    messages.success(request, _("Saved."))
    return redirect("wecom:settings")


@login_required
def transfers(request: AuthedRequest) -> HttpResponse:
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied
    connection = _connection(request)
    if request.method == "POST" and connection is not None:
        try:
            poll_transfers(connection)
            messages.success(request, _("Results read from WeCom."))
        except WeComError:
            messages.error(request, _("WeCom could not be reached. Try again in a moment."))
        return redirect("wecom:transfers")
    rows = (
        WeComTransfer.objects.filter(organisation_id=request.user.organisation_id)
        .filter(customer__in=Customer.objects.visible_to(request.user).values("pk"))
        .select_related("customer", "from_staff", "to_staff")[:500]
    )
    return render(request, "wecom/transfers.html", {"transfers": rows, "active_nav": "staff"})


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
