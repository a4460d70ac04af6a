"""Request type for views behind login_required (django-stubs' recommended pattern)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from huitouke.accounts.models import User


class AuthedRequest(HttpRequest):
    """An HttpRequest whose user is a signed-in staff account."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
