"""Request type for views behind login_required (django-stubs' recommended pattern)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from huitouke.accounts.models import User


class AuthedRequest(HttpRequest):
    """An HttpRequest whose user is a signed-in staff account."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


def require_role(request: AuthedRequest, *roles: str) -> None:
    """Refuse (403) a signed-in user whose role is not one of `roles`."""
    if getattr(request.user, "role", None) not in roles:
        raise PermissionDenied
