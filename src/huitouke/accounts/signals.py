"""Audit logins and failed logins (the audit entry is the record owners look at)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from huitouke.audit.actions import record_audit


@receiver(user_logged_in)
def _audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_audit(
        actor=user, organisation=user.organisation, action="login", target=user, request=request
    )


@receiver(user_login_failed)
def _audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    record_audit(
        actor=None,
        organisation=None,
        action="login_failed",
        request=request,
        detail={"username": str(credentials.get("username", ""))[:150]},
    )
