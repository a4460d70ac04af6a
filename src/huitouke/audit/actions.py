"""Writing audit entries; called inside the same transaction as the action being audited."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from ipware import get_client_ip

from huitouke.audit.models import AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or behind a trusted proxy (TRUSTED_PROXIES) the address
    it forwarded (django-ipware). The one answer for audit entries and the login lock-out."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXIES
    # X-Forwarded-For is believed only from a proxy we run: anyone else could write it.
    if not trusted or remote is None or not remote.startswith(tuple(trusted)):
        return remote

    try:
        # The right-most forwarded address is the one our proxy added; anything left of it the
        # client may have written. (ipware's "modern" engine prefers a public address anywhere
        # in the chain, which a client can forge, hence the legacy rule.)
        ip, _routable = get_client_ip(
            request,
            proxy_order="right-most",
            request_header_order=("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "REMOTE_ADDR"),
            algorithm="legacy",
        )
    except ValueError:
        return remote
    return ip or remote


def audit_value(value: Any) -> Any:
    """A field's value as an audit entry keeps it: JSON-plain, text clipped to 200 characters."""
    if isinstance(value, str):
        return value[:200]
    if value is None or isinstance(value, bool | int | float | dict | list):
        return value
    return str(value)[:200]


def record_audit(
    *,
    actor: Any,
    organisation: Any,
    action: str,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
    object_repr: str = "",
) -> AuditEntry:
    """Append one audit entry (`object_repr` names what it concerns when there is no target)."""
    actor_obj = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        organisation=organisation,
        actor=actor_obj,
        action=action,
        object_type=target._meta.model_name or "" if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else object_repr[:200],
        ip=client_ip(request),
        detail=detail or {},
    )
