"""API tokens: created here, shown once, stored only as a SHA-256; scoped, expiring, revocable.

A token acts as its user, narrowed by its scope: `read` answers only GET; `pos` (a till) may
also record orders and refunds, use points and coupons, and register a customer; `full` may do
whatever its user may. Creation and revocation are audited; use is audited once a day per token
(`token_used`, with the day's first path), not per request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from huitouke.accounts.models import ApiToken, TokenScope, User, hash_token
from huitouke.audit.actions import record_audit

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The writes a till token may make: (method, URL route under /api/v1/).
POS_WRITES = {
    ("POST", "orders"),
    ("POST", "orders/<order_id>/refunds"),
    ("POST", "customers/<customer_id>/points/redeem"),
    ("POST", "coupons/redeem"),
    ("POST", "customers"),
}


def create_api_token(
    user: User,
    name: str = "API",
    *,
    actor: Any,
    scope: str = TokenScope.FULL,
    expires_at: datetime | None = None,
) -> str:
    """Create a token for `user`, audit it, and return the raw key (it cannot be read back later)."""
    raw = ApiToken.new_raw_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100] or "API",
            prefix=raw[:8],
            key_hash=hash_token(raw),
            scope=TokenScope(scope),
            expires_at=expires_at,
        )
        record_audit(
            actor=actor,
            organisation=user.organisation,
            action="token_created",
            target=token,
            detail={
                "user": user.pk,
                "name": token.name,
                "scope": token.scope,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return raw


def revoke_api_token(token: ApiToken, *, actor: Any, request: Any = None) -> None:
    """Stop a token working from now on; it stays listed (and audited) as revoked."""
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            return
        record_audit(
            actor=actor,
            organisation=token.user.organisation,
            action="token_revoked",
            target=token,
            request=request,
            detail={"user": token.user_id, "name": token.name},
        )


def scope_allows(scope: str, method: str, route: str) -> bool:
    """Whether a token of `scope` may call `method` on `route` (Django's resolved URL route)."""
    if scope == TokenScope.FULL or method in SAFE_METHODS:
        return True
    return scope == TokenScope.POS and (method, route.removeprefix("api/v1/")) in POS_WRITES


def audit_daily_use(token: ApiToken, request: Any) -> None:
    """One `token_used` audit entry per token and day (the conditional update decides who writes)."""
    today = timezone.localdate()
    if token.last_audited_on == today:
        return
    if (
        ApiToken.objects.filter(pk=token.pk)
        .exclude(last_audited_on=today)
        .update(last_audited_on=today)
    ):
        record_audit(
            actor=token.user,
            organisation=token.user.organisation,
            action="token_used",
            target=token,
            request=request,
            detail={"scope": token.scope, "first_path": request.path[:200]},
        )
