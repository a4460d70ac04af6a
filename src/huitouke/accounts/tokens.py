"""API tokens: created here, shown once, stored only as a SHA-256."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from huitouke.accounts.models import ApiToken, User, hash_token
from huitouke.audit.actions import record_audit


def create_api_token(user: User, name: str = "API", *, actor: Any) -> str:
    """Create a token for `user`, audit it, and return the raw key (it cannot be read back later)."""
    raw = ApiToken.new_raw_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100] or "API", prefix=raw[:8], key_hash=hash_token(raw)
        )
        record_audit(
            actor=actor,
            organisation=user.organisation,
            action="token_created",
            target=token,
            detail={"user": user.pk, "name": token.name},
        )
    return raw
