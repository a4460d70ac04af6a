"""Tombstones: what the change feeds say about rows that left them."""

from __future__ import annotations

from typing import Any

from huitouke.integrations.models import Tombstone


def record_tombstone(
    *, organisation_id: int, kind: str, object_id: int, reason: str, replaced_by_id: Any = None
) -> Tombstone:
    """Note in the feed that a row was deleted, merged or anonymised (call inside its transaction)."""
    return Tombstone.objects.create(
        organisation_id=organisation_id,
        kind=kind,
        object_id=object_id,
        reason=reason,
        replaced_by_id=replaced_by_id,
    )
