"""/healthz (the process answers) and /readyz (it can serve: database, Redis, worker).

/readyz and /metrics tell more than a stranger should know (queue depth, backup age), so they answer only to
the addresses in HUITOUKE_PROBE_IPS (loopback and private networks by default).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from huitouke.ops.health import readiness
from huitouke.ops.metrics import CONTENT_TYPE_LATEST, render_metrics


def probe_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.PROBE_IPS)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    if not probe_allowed(request):
        return JsonResponse({"error": "forbidden"}, status=403)
    ready, details = readiness()
    return JsonResponse(details, status=200 if ready else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:

    if not probe_allowed(request):
        return JsonResponse({"error": "forbidden"}, status=403)
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
