"""Tombstones: what the change feeds say about rows that left them.

`record_tombstone` is the hook for every write that takes a row out of a feed: a merge (below,
through customers.events.customers_merged), a deletion, an erasure or anonymisation. Call it inside
the write's transaction, so a rolled-back erasure leaves no tombstone (integrations/hooks.py does,
from the events of the lower apps):

- customer: merged into another (replaced_by_id: the kept one), anonymised (PIPL erasure),
  deleted;
- order: merged into its visit's first order by `merge_visit_orders` (replaced_by_id: the kept
  order), anonymised when its customer is erased (the order stays as an anonymous money record:
  drop the link to the person, keep the amounts);
- coupon: anonymised with its customer, like her orders;
- message: anonymised when her erasure deletes it (the row is gone).

Changes that keep a row in its feed (a refund, a coupon voided or expired, orders and coupons
moved to the kept customer by a merge, a message sent or failed) come again in the feed itself:
every such write bumps the row's updated_at.


    from huitouke.integrations.tombstones import record_tombstone
    record_tombstone(customer.organisation_id, "customer", customer.pk, "anonymised")

It is also importable as huitouke.integrations.feeds.record_tombstone. Clients read tombstones
at GET /api/v1/changes/tombstones (a change feed like the others).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

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


def record_tombstones(
    organisation: Any,
    kind: str,
    object_ids: Iterable[int],
    reason: str,
    *,
    replaced_by: Mapping[int, int] | None = None,
) -> int:
    """record_tombstone for many rows of one kind at once (`replaced_by`: {id: kept id})."""
    if kind not in Tombstone.Kind.values or reason not in Tombstone.Reason.values:
        raise ValueError(f"unknown tombstone {kind!r} {reason!r}")
    org_id = getattr(organisation, "pk", organisation)
    now = timezone.now()
    stones = [
        Tombstone(
            organisation_id=org_id,
            kind=kind,
            object_id=pk,
            reason=reason,
            replaced_by_id=(replaced_by or {}).get(pk),
            updated_at=now,
        )
        for pk in object_ids
    ]
    Tombstone.objects.bulk_create(stones, batch_size=500)
    return len(stones)
