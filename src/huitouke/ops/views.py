"""/healthz (the process answers) and /readyz (it can serve: database, Redis, worker)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from huitouke.ops.health import readiness


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    ready, details = readiness()
    return JsonResponse(details, status=200 if ready else 503)
