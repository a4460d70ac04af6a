"""Each staff member's language: remembered when she switches, applied when she logs in.

The language of a request is Django's (LocaleMiddleware: the language cookie, then the
browser's). Switching (`set_language`) also stores the choice on her account; logging in
through the login form sets the cookie to the stored one, so every later page, on any device,
and the login page after she logs out follow it. (The test client's force_login goes through
no middleware and sets nothing.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from huitouke.accounts.actions import do_set_language

REMEMBER = "_huitouke_language"


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also stores the choice on the signed-in account."""
    response = django_set_language(request)
    user = getattr(request, "user", None)
    language = request.POST.get("language", "")
    if user is not None and user.is_authenticated and language in dict(settings.LANGUAGES):
        do_set_language(user, language, actor=user, request=request)
    return response


@receiver(user_logged_in)
def _remember_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    language = getattr(user, "language", "")
    if request is not None and language in dict(settings.LANGUAGES):
        setattr(request, REMEMBER, language)


class UserLanguageMiddleware:
    """The response of a login sets the language cookie to the account's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        language = getattr(request, REMEMBER, None)
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
