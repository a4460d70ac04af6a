"""Customer stats for the customers an import touched, in bulk (as sales.rebuild_stats does for all).

Set-based: per batch of customers, one GROUP BY over their counted orders, the categories of
their last visits (sales.actions.last_visit_categories), then one upsert. The per-customer
definition is sales.actions.refresh_customer_stats; both read the same `stats_aggregates`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.customers.models import CustomerStats
from huitouke.imports.bulk import FastTable
from huitouke.imports.matching import BATCH, batches
from huitouke.sales.actions import CENT, last_visit_categories, stats_aggregates
from huitouke.sales.models import ZERO, Order

# The columns refresh_stats_for writes, in the order of its tuples; the first two are the key.
STATS_FIELDS = (
    "customer_id",
    "organisation_id",
    "first_order_at",
    "last_order_at",
    "orders_count",
    "net_spend",
    "gross_margin",
    "avg_order_value",
    "spend_12m",
    "last_order_categories",
    "updated_at",
)


def refresh_stats_for(
    organisation_id: int,
    customer_ids: Iterable[int],
    *,
    now: datetime | None = None,
    batch_size: int = BATCH,
) -> int:
    """Recompute the stats of these customers from their counted orders; call inside the import's transaction."""
    now = now or timezone.now()
    time_zone = Organisation.objects.only("time_zone").get(pk=organisation_id).time_zone
    table = FastTable(CustomerStats, now)
    written = 0
    for batch in batches(sorted(set(customer_ids)), batch_size):
        rows: Any = (
            Order.objects.counted()
            .filter(customer_id__in=batch)
            .values_list("customer_id")
            .annotate(**stats_aggregates(now))
        )
        by_customer = {r[0]: r for r in rows}
        last_cats = last_visit_categories(batch, time_zone)
        stats: list[tuple[Any, ...]] = []
        for cid in batch:
            r = by_customer.get(cid)
            if r is None:
                stats.append((cid, organisation_id, None, None, 0, ZERO, ZERO, ZERO, ZERO, [], now))
                continue
            _cid, first, last, count, spend, margin, spend_12m = r
            stats.append(
                (
                    cid,
                    organisation_id,
                    first,
                    last,
                    count,
                    spend,
                    margin,
                    (spend / count).quantize(CENT),
                    spend_12m,
                    sorted(last_cats.get(cid, ())),
                    now,
                )
            )
        table.upsert(STATS_FIELDS, stats, "customer_id", STATS_FIELDS[2:])
        written += len(stats)
    return written
