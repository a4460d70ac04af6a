"""Customer stats (CustomerStats) recomputed from counted orders: the one place that defines them.

`stats_aggregates` are the expressions; `refresh_customer_stats` applies them to one customer
inside her order's transaction, `refresh_stats_for` to many at once (set-based: one GROUP BY
over the counted orders of each batch of customers, or of the whole organisation when most of
it is asked for, the categories of their last visits, then one upsert per batch), and
`rebuild_stats` to a whole organisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.core.bulk import BATCH, FastTable, batches
from huitouke.customers.models import Customer, CustomerStats
from huitouke.sales.models import ZERO, Order, OrderLine, OrderStatus

CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=14, decimal_places=2)
_NET = ExpressionWrapper(F("net_paid") - F("refunded_amount"), output_field=MONEY)
_MARGIN = ExpressionWrapper(
    F("net_paid") - F("refunded_amount") - F("cost_amount") + F("refunded_cost"), output_field=MONEY
)


def stats_aggregates(now: datetime) -> dict[str, Any]:
    """The aggregate expressions over counted orders that make up CustomerStats."""
    return {
        "first": Min("placed_at"),
        "last": Max("placed_at"),
        "count": Count("id"),
        "spend": Coalesce(Sum(_NET), Value(ZERO), output_field=MONEY),
        "margin": Coalesce(Sum(_MARGIN), Value(ZERO), output_field=MONEY),
        "spend_12m": Coalesce(
            Sum(_NET, filter=Q(placed_at__gt=now - timedelta(days=365))),
            Value(ZERO),
            output_field=MONEY,
        ),
    }


# A local calendar day lasts at most 25 hours (a DST change), so every order of her last local
# day lies within this long before her last order.
_LONGEST_DAY = timedelta(hours=26)
VISIT_BATCH = 2000


def last_visit_categories(customer_ids: Sequence[int], time_zone: str) -> dict[int, set[int]]:
    """{customer: the categories bought on her last visit}: every counted order on the local
    date of her last counted order (lines still held, i.e. not fully returned).

    Per batch, one GROUP BY finds each customer's last order time on the (customer, status,
    placed_at) index, then a seek per customer reads her orders of the 26 hours before it
    and their lines; the exact local date is compared here.
    """
    zone = ZoneInfo(time_zone)
    qn = connection.ops.quote_name
    order, line = qn(Order._meta.db_table), qn(OrderLine._meta.db_table)
    if connection.vendor == "postgresql":
        since = "m.latest - INTERVAL '26 hours'"
    else:
        since = "datetime(m.latest, '-26 hours')"
    paid = OrderStatus.PAID.value
    found: dict[int, set[int]] = {}
    for lo in range(0, len(customer_ids), VISIT_BATCH):
        batch = list(customer_ids[lo : lo + VISIT_BATCH])
        marks = ", ".join(["%s"] * len(batch))
        sql = (
            f"SELECT o.customer_id, o.placed_at, m.latest, l.category_id FROM ("
            f"SELECT customer_id, MAX(placed_at) AS latest FROM {order}"
            f" WHERE status = %s AND customer_id IN ({marks}) GROUP BY customer_id) m"
            f" JOIN {order} o ON o.customer_id = m.customer_id AND o.status = %s"
            f" AND o.placed_at >= {since} AND o.placed_at <= m.latest"
            f" JOIN {line} l ON l.order_id = o.id"
            " WHERE l.category_id IS NOT NULL AND l.quantity > l.refunded_quantity"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [paid, *batch, paid])
            rows = cursor.fetchall()
        for customer_id, placed, latest, category_id in rows:
            if _aware(placed).astimezone(zone).date() == _aware(latest).astimezone(zone).date():
                found.setdefault(customer_id, set()).add(category_id)
    return found


def _aware(value: Any) -> datetime:
    """A datetime read by raw SQL as an aware datetime (SQLite hands back text or naive UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def refresh_customer_stats(customer_id: int, *, now: datetime | None = None) -> CustomerStats:
    """Recompute one customer's stats from her counted orders (call inside the order's transaction)."""
    now = now or timezone.now()
    agg = Order.objects.counted().filter(customer_id=customer_id).aggregate(**stats_aggregates(now))
    stats = CustomerStats.objects.select_related("organisation").get(customer_id=customer_id)
    last_categories: list[int] = []
    if agg["last"] is not None:
        found = last_visit_categories([customer_id], stats.organisation.time_zone)
        last_categories = sorted(found.get(customer_id, ()))
    count = agg["count"]
    stats.first_order_at = agg["first"]
    stats.last_order_at = agg["last"]
    stats.orders_count = count
    stats.net_spend = agg["spend"]
    stats.gross_margin = agg["margin"]
    stats.avg_order_value = (agg["spend"] / count).quantize(CENT) if count else ZERO
    stats.spend_12m = agg["spend_12m"]
    stats.last_order_categories = last_categories
    stats.save()
    return stats


def rebuild_stats(organisation: Organisation, *, now: datetime | None = None) -> int:
    """Recompute every customer's stats of an organisation in bulk (after imports and demo loads)."""
    ids = Customer.objects.filter(organisation=organisation).values_list("pk", flat=True)
    with transaction.atomic():
        return refresh_stats_for(organisation.pk, ids.iterator(chunk_size=20000), now=now)


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
)


# From this many customers, and at least a quarter of the organisation's, one pass over all of
# its orders beats looking up each customer's: the lookups land on random pages of the orders
# table (12.8 s for 100k customers with 1M orders on SQLite, against 2.8 s for the pass).
SCAN_FROM = 5_000
SCAN_SHARE = 4


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
    wanted = sorted(set(customer_ids))
    counted = Order.objects.counted()
    whole: dict[int, tuple[Any, ...]] | None = None
    if len(wanted) >= SCAN_FROM and len(wanted) * SCAN_SHARE >= (
        Customer.objects.filter(organisation_id=organisation_id).count()
    ):
        keep = set(wanted)
        whole = {
            r[0]: r
            for r in _aggregates(counted.filter(organisation_id=organisation_id), now).iterator(
                chunk_size=10_000
            )
            if r[0] in keep
        }
    table = FastTable(CustomerStats, now)
    # Few distinct sets of last-visit categories: each is encoded as JSON once.
    to_json = table.adapter("last_order_categories")
    json_of: dict[tuple[int, ...], Any] = {(): to_json([])}
    for batch in batches(wanted, batch_size):
        by_customer = (
            whole
            if whole is not None
            else {r[0]: r for r in _aggregates(counted.filter(customer_id__in=batch), now)}
        )
        last_cats = last_visit_categories(batch, time_zone)
        stats: list[tuple[Any, ...]] = []
        for cid in batch:
            r = by_customer.get(cid)
            if r is None:
                no_orders = (None, None, 0, ZERO, ZERO, ZERO, ZERO, json_of[()])
                stats.append((cid, organisation_id, *no_orders))
                continue
            _cid, first, last, count, spend, margin, spend_12m = r
            categories = tuple(sorted(last_cats.get(cid, ())))
            encoded = json_of.get(categories)
            if encoded is None:
                encoded = json_of[categories] = to_json(list(categories))
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
                    encoded,
                )
            )
        # updated_at is left to its default, `now`, converted once for all rows.
        table.upsert(
            STATS_FIELDS,
            stats,
            "customer_id",
            (*STATS_FIELDS[2:], "updated_at"),
            prepared=("last_order_categories",),
        )
    return len(wanted)


def _aggregates(orders: Any, now: datetime) -> Any:
    """(customer, first, last, count, spend, margin, spend_12m) per customer of `orders`."""
    return orders.values_list("customer_id").annotate(**stats_aggregates(now)).order_by()
