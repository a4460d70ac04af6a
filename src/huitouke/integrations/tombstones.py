"""Tombstones: what the change feeds say about rows that left them.

`record_tombstone` is the hook for every write that takes a row out of a feed: a merge (below,
through customers.events.customers_merged), a deletion, an erasure or anonymisation. Call it inside
the write's transaction, so a rolled-back erasure leaves no tombstone:

    from huitouke.integrations.tombstones import record_tombstone
    record_tombstone(customer.organisation_id, "customer", customer.pk, "anonymised")

It is also importable as huitouke.integrations.feeds.record_tombstone. Clients read tombstones
at GET /api/v1/changes/tombstones (a change feed like the others).
"""

from __future__ import annotations

from typing import Any

from huitouke.integrations.models import Tombstone


def record_tombstone(
    organisation: Any,
    kind: str,
    object_id: int,
    reason: str = Tombstone.Reason.ANONYMISED,
    *,
    replaced_by_id: int | None = None,
) -> Tombstone:
    """Note in the feed that a row left it.

    organisation: an Organisation or its id; kind: "customer", "order", "coupon" or "message"
    (Tombstone.Kind); reason: "deleted", "merged" or "anonymised" (Tombstone.Reason, the default
    is "anonymised"); replaced_by_id: for a merge, the row that stays.
    """
    if kind not in Tombstone.Kind.values or reason not in Tombstone.Reason.values:
        raise ValueError(f"unknown tombstone {kind!r} {reason!r}")
    return Tombstone.objects.create(
        organisation_id=getattr(organisation, "pk", organisation),
        kind=kind,
        object_id=object_id,
        reason=reason,
        replaced_by_id=replaced_by_id,
    )
