"""A member session sees member pages only: every staff page and API answers 404 to it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.defaults import page_not_found

from huitouke.members.sessions import COOKIE, MEMBER_PREFIX, current_member


class MemberIsolationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.open_prefixes = (MEMBER_PREFIX, settings.STATIC_URL or "/static/", "/i18n/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            COOKIE in request.COOKIES
            and not request.path_info.startswith(self.open_prefixes)
            and current_member(request) is not None
        ):
            # 404, not 403: a member is not told that staff pages exist at all.
            return page_not_found(request, Http404())
        return self.get_response(request)
