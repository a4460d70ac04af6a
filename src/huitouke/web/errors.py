"""The 403, 404 and 500 pages: the app's layout, the user's language and the way back.

The 500 page renders without a request context (no context processors, no session or user
read): whatever failed, possibly the database, is not asked again. Its language is the one the
LocaleMiddleware chose for the request, still active while the error is handled.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme


def came_from(request: HttpRequest) -> str:
    """The page the person came from, when it is ours and not this very page; else ''."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(referer)
    back = parts.path + (f"?{parts.query}" if parts.query else "")
    return "" if back == request.get_full_path() else back


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"back": came_from(request)}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"back": came_from(request)}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"back": came_from(request), "error_page": True}
    return HttpResponseServerError(loader.get_template("500.html").render(context))
