"""Member sign-in sessions: a random key in the `hk_member` cookie, its hash in MemberSession.

Kept apart from Django's staff session on purpose: a member never holds a staff login, and a
staff login is never read by the member pages (views.py asks only `current_member`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.members.models import MemberSession, hash_key

COOKIE = "hk_member"
# Paths a member may open; everything else answers 404 to a member session (middleware.py).
MEMBER_PREFIX = "/m/"


def start_session(response: HttpResponse, customer: Customer) -> MemberSession:
    """Sign her in on this device for MEMBER_SESSION_DAYS."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    days = settings.MEMBER_SESSION_DAYS
    session = MemberSession.objects.create(
        key_hash=hash_key(raw), customer=customer, created_at=now, expires_at=now + timedelta(days)
    )
    response.set_cookie(
        COOKIE,
        raw,
        max_age=days * 86400,
        httponly=True,
        samesite="Lax",
        secure=settings.PRODUCTION,
    )
    return session


def current_member(request: HttpRequest) -> Customer | None:
    """The member signed in on this device (None without a live session); cached per request."""
    if hasattr(request, "_member"):
        return request._member  # type: ignore[no-any-return]
    member: Customer | None = None
    raw = request.COOKIES.get(COOKIE, "")
    if raw and len(raw) < 100:
        session = (
            MemberSession.objects.filter(key_hash=hash_key(raw), expires_at__gt=timezone.now())
            .select_related("customer", "customer__organisation")
            .first()
        )
        if session is not None and session.customer.merged_into_id is None:
            member = session.customer
    request._member = member  # type: ignore[attr-defined]
    return member


def end_session(request: HttpRequest, response: HttpResponse) -> None:
    """Sign out on this device."""
    raw = request.COOKIES.get(COOKIE, "")
    if raw:
        MemberSession.objects.filter(key_hash=hash_key(raw)).delete()
    response.delete_cookie(COOKIE, samesite="Lax")
