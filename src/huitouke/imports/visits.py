"""One visit, one order, for data imported before imports grouped rows into visits.

Imports used to make one order per row of a file without order numbers: two products bought
on one day became two orders (F = 2, a "repeat" customer after her first visit). The command
`huitouke merge_visit_orders` joins such orders into one per customer, store and time, as an
import does now, and recomputes the stats and tiers of the customers concerned.

Only imported orders keyed by their row ("row:…") are touched, and only plain ones: paid, no
refund, no points or coupon attached (imported history earns none), so merging moves lines and
sums amounts and nothing else. The kept order (the group's first) keeps its key, and each moved
line takes its own order's row key as its `import_key`, so a re-import of the file recognises
every row of the visit (see order_rows._rows_there) and adds only a row not there yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.imports.summary import ROW_PREFIX
from huitouke.loyalty.models import Coupon, PointsEntry
from huitouke.loyalty.program import reevaluate_tiers_of
from huitouke.sales import events as sales_events
from huitouke.sales.models import Order, OrderLine, OrderSource, OrderStatus
from huitouke.sales.stats import refresh_stats_for

BATCH_GROUPS = 500
AMOUNTS = ("gross_amount", "discount_amount", "net_paid", "cost_amount")


@dataclass
class MergeOutcome:
    """What merging did (or, in a dry run, would do)."""

    dry_run: bool
    groups: int = 0  # visits made of more than one order
    orders_before: int = 0  # the orders of those visits
    orders_removed: int = 0
    customers: set[int] = field(default_factory=set)
    tiers_changed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The command's JSON."""
        return {
            "dry_run": self.dry_run,
            "visits": self.groups,
            "orders_before": self.orders_before,
            "orders_after": self.orders_before - self.orders_removed,
            "orders_removed": self.orders_removed,
            "customers": len(self.customers),
            "tiers_changed": self.tiers_changed,
        }


def mergeable_orders(organisation_id: int) -> Any:
    """The imported one-row orders that may be merged: paid, no refund, points or coupon."""

    return (
        Order.objects.filter(
            organisation_id=organisation_id,
            source=OrderSource.IMPORT,
            status=OrderStatus.PAID,
            external_id__startswith=ROW_PREFIX,
            customer_id__isnull=False,
            refunded_amount=0,
        )
        .exclude(Exists(PointsEntry.objects.filter(order_id=OuterRef("pk"))))
        .exclude(Exists(Coupon.objects.filter(order_id=OuterRef("pk"))))
    )


def visit_groups(organisation_id: int) -> Iterator[tuple[int, list[int]]]:
    """(customer id, ids) of the mergeable orders sharing customer, store and time, two or more."""
    rows = (
        mergeable_orders(organisation_id)
        .order_by("customer_id", "store_id", "placed_at", "pk")
        .values_list("customer_id", "store_id", "placed_at", "pk")
    )
    current: tuple[int, int, datetime] | None = None
    group: list[int] = []
    for customer_id, store_id, placed_at, pk in rows.iterator(chunk_size=5000):
        key = (customer_id, store_id, placed_at)
        if key != current:
            if len(group) > 1 and current is not None:
                yield current[0], group
            current, group = key, []
        group.append(pk)
    if len(group) > 1 and current is not None:
        yield current[0], group


def do_merge_visit_orders(
    organisation: Organisation, *, actor: Any, dry_run: bool = True
) -> MergeOutcome:
    """Merge imported one-row orders of one visit into one order each; audited, stats and tiers recomputed."""
    outcome = MergeOutcome(dry_run=dry_run)
    # A dry run only reads (on SQLite a transaction would take the write lock).
    with nullcontext() if dry_run else transaction.atomic():
        # Found inside the transaction that merges them: an order refunded meanwhile is
        # either seen as refunded or merged before the refund can start.
        found = list(visit_groups(organisation.pk))
        groups = [ids for _customer, ids in found]
        outcome.groups = len(groups)
        outcome.orders_before = sum(len(g) for g in groups)
        outcome.orders_removed = outcome.orders_before - len(groups)
        outcome.customers = {customer for customer, _ids in found}
        if dry_run or not groups:
            return outcome
        for start in range(0, len(groups), BATCH_GROUPS):
            _merge(groups[start : start + BATCH_GROUPS])
        # The change feeds show each removed order as merged into its visit's kept one.
        sales_events.orders_merged.send(
            Order,
            organisation_id=organisation.pk,
            merged={pk: keep for keep, *others in groups for pk in others},
        )
        refresh_stats_for(organisation.pk, outcome.customers)
        record_audit(
            actor=actor,
            organisation=organisation,
            action="merge_visit_orders",
            detail=outcome.as_dict(),
        )
    # After the commit, as after an import: tiers follow the (unchanged) spend; points are
    # untouched, since no merged order carries any.

    outcome.tiers_changed = reevaluate_tiers_of(
        organisation.pk, now=timezone.now(), reason="import", customer_ids=outcome.customers
    )
    return outcome


def _merge(groups: list[list[int]]) -> None:
    """Sum each group's amounts into its first order, move the lines there, delete the rest."""
    amounts = {
        row["pk"]: row
        for row in Order.objects.filter(pk__in=[pk for g in groups for pk in g]).values(
            "pk", *AMOUNTS
        )
    }
    # Each line remembers the row it came from: its one-row order's key.
    OrderLine.objects.filter(order_id__in=list(amounts), import_key="").update(
        import_key=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("external_id")[:1])
    )
    for keep, *others in groups:
        sums = {
            name: sum((amounts[pk][name] for pk in others), amounts[keep][name]) for name in AMOUNTS
        }
        Order.objects.filter(pk=keep).update(**sums, updated_at=timezone.now())
        OrderLine.objects.filter(order_id__in=others).update(order_id=keep)
    Order.objects.filter(pk__in=[pk for g in groups for pk in g[1:]]).delete()
