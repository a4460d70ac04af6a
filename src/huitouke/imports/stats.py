"""Customer stats for the customers an import touched, in bulk (as sales.rebuild_stats does for all)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from huitouke.customers.models import CustomerStats
from huitouke.imports.bulk import FastTable
from huitouke.imports.matching import batches
from huitouke.sales.actions import CENT, stats_aggregates
from huitouke.sales.models import ZERO, Order, OrderLine, OrderStatus

STATS_FIELDS = [
    "first_order_at",
    "last_order_at",
    "orders_count",
    "net_spend",
    "gross_margin",
    "avg_order_value",
    "spend_12m",
    "last_order_categories",
    "updated_at",
]


def refresh_stats_for(
    organisation_id: int, customer_ids: Iterable[int], *, now: datetime | None = None
) -> int:
    """Recompute the stats of these customers from their counted orders; call inside the import's transaction."""
    now = now or timezone.now()
    table = FastTable(CustomerStats, now)
    written = 0
    for batch in batches(sorted(set(customer_ids))):
        rows: Any = (
            Order.objects.counted()
            .filter(customer_id__in=batch)
            .values("customer_id")
            .annotate(**stats_aggregates(now))
        )
        by_customer = {r["customer_id"]: r for r in rows}
        last_cats: dict[int, set[int]] = {}
        lasts = {r["last"] for r in by_customer.values() if r["last"] is not None}
        # Only the lines of each customer's latest orders matter: filtering on those times keeps
        # this from reading every line the customers ever bought.
        for cid, placed_at, cat in (
            OrderLine.objects.filter(
                order__customer_id__in=batch,
                order__status=OrderStatus.PAID,
                order__placed_at__in=sorted(lasts),
            )
            .order_by()
            .values_list("order__customer_id", "order__placed_at", "category_id")
        ):
            last = by_customer.get(cid, {}).get("last")
            if cat is not None and last == placed_at:
                last_cats.setdefault(cid, set()).add(cat)
        rows_out = []
        for cid in batch:
            r = by_customer.get(cid)
            count = r["count"] if r else 0
            rows_out.append(
                {
                    "customer_id": cid,
                    "organisation_id": organisation_id,
                    "first_order_at": r["first"] if r else None,
                    "last_order_at": r["last"] if r else None,
                    "orders_count": count,
                    "net_spend": r["spend"] if r else ZERO,
                    "gross_margin": r["margin"] if r else ZERO,
                    "avg_order_value": (r["spend"] / count).quantize(CENT) if r and count else ZERO,
                    "spend_12m": r["spend_12m"] if r else ZERO,
                    "last_order_categories": sorted(last_cats.get(cid, ())),
                    "updated_at": now,
                }
            )
        table.upsert(rows_out, "customer_id", STATS_FIELDS)
        written += len(rows_out)
    return written
