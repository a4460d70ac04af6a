"""Writing audit entries; called inside the same transaction as the action being audited."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from huitouke.audit.models import AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_audit(
    *,
    actor: Any,
    organisation: Any,
    action: str,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry."""
    actor_obj = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        organisation=organisation,
        actor=actor_obj,
        action=action,
        object_type=target._meta.model_name or "" if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        ip=client_ip(request),
        detail=detail or {},
    )
