"""Middleware of the integrations app: idempotent POST/PATCH under /api/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from huitouke.integrations import idempotency


class IdempotencyMiddleware:
    """Applies the Idempotency-Key header to the API's POST and PATCH requests."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PATCH") and request.path.startswith("/api/"):
            return idempotency.handle(request, self.get_response)
        response: HttpResponse = self.get_response(request)
        return response
