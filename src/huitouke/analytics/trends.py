"""The home dashboard's trend figures per scope, computed by the nightly refresh (Polars).

The same definitions as the live reference in `web.dashboard` (docs/definitions.md "Home
dashboard"): counted orders of known customers, local calendar months, "returning" = her first
counted order (all history, all stores) before the period's first day, revenue = Σ net_paid.
The stored data holds the raw counts; `web.dashboard` turns them into what the page shows.

Scopes follow what each viewer's live dashboard counts (accounts.scoping.order_q): "" every
order; "store:ID" the orders placed in the store or bought by customers whose home store it is;
"manager:ID" (what a store manager reads) those of her store plus the orders of the customers
she owns herself, homed in any store; "owner:ID" the orders of her own customers or sold by her.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection

from huitouke.analytics import loader
from huitouke.analytics.loader import Frames
from huitouke.sales.models import Order, OrderStatus

__all__ = [
    "MIN_QUARTER_DAYS",
    "TREND_MONTHS",
    "month_start",
    "trend_reports",
    "verdict_periods",
    "year_before",
]

TREND_MONTHS = 18  # the verdict's trend lines: reach back past the same quarter last year
MIN_QUARTER_DAYS = 30  # fewer days of this quarter so far: judge the last complete quarter
REPURCHASE_DAYS = 365


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of `day`'s month, `back` months earlier."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def year_before(day: dt.date) -> dt.date:
    """The same date a year before; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def verdict_periods(today: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The quarter judged and the same dates a year before (docs/definitions.md)."""
    start = _quarter_start(today)
    if (today - start).days + 1 < MIN_QUARTER_DAYS:
        end = start - dt.timedelta(days=1)
        start = _quarter_start(end)
    else:
        end = today
    return (start, end), (year_before(start), year_before(end))


def _order_extras(organisation_id: int, since: dt.date, *, large: bool) -> pl.DataFrame:
    """order_id, staff_id and net_paid in cents of the counted orders (the frames hold neither
    the seller nor the amount before refunds). `since` is a day early: time zones. `large`:
    read by the Arrow reader (`loader.read_all`), as the frames were."""
    qn = connection.ops.quote_name
    sql = (
        f"SELECT id, staff_id, CAST(ROUND(net_paid * 100) AS BIGINT)"
        f" FROM {qn(Order._meta.db_table)}"
        " WHERE organisation_id = %s AND status = %s AND customer_id IS NOT NULL"
        " AND placed_at >= %s"
    )
    start = dt.datetime.combine(since - dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    params: list[Any] = [
        organisation_id,
        OrderStatus.PAID.value,
        connection.ops.adapt_datetimefield_value(start),
    ]
    schema: list[tuple[str, pl.DataType]] = [
        ("order_id", pl.Int64()),
        ("staff_id", pl.Int64()),
        ("paid_cents", pl.Int64()),
    ]
    return loader.read_all([(sql, params, schema)], large=large)[0]


def _with_extras(orders: pl.DataFrame, extras: pl.DataFrame) -> pl.DataFrame:
    """`orders` left-joined with `extras` on order_id (staff_id and paid_cents null where
    extras lacks the order).

    The extras are read in id order, so each order finds its row by a binary search: about
    three times faster than a hash join of five million orders (docs/benchmarks.md).
    """
    keys = extras["order_id"]
    if keys.len() == 0 or not keys.is_sorted():
        return orders.join(extras, on="order_id", how="left")
    ids, sorted_ids = orders["order_id"].to_numpy(), keys.to_numpy()
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    found = pl.Series(sorted_ids[at] == ids)
    picked = extras.select("staff_id", "paid_cents")[at]
    return orders.with_columns(
        staff_id=pl.when(found).then(picked["staff_id"]),
        paid_cents=pl.when(found).then(picked["paid_cents"]),
    )


def _cents_text(cents: int) -> str:
    return str(Decimal(int(cents)).scaleb(-2))


def _scope_data(orders: pl.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """The raw trend figures of one scope's orders (with first_date and month columns)."""
    first_month = month_start(as_of, TREND_MONTHS - 1)
    in_months = orders.filter(pl.col("order_date") >= first_month).with_columns(
        returning=pl.col("first_date") < pl.col("month")
    )
    grouped = in_months.group_by("month", "returning").agg(
        buyers=pl.col("customer_id").n_unique(), cents=pl.col("paid_cents").sum()
    )
    found = {(r["month"], r["returning"]): r for r in grouped.iter_rows(named=True)}
    months = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        month = month_start(as_of, back)
        new, ret = found.get((month, False)), found.get((month, True))
        months.append(
            {
                "month": month.isoformat(),
                "new_buyers": int(new["buyers"]) if new else 0,
                "returning_buyers": int(ret["buyers"]) if ret else 0,
                "new_revenue": _cents_text(new["cents"] if new else 0),
                "returning_revenue": _cents_text(ret["cents"] if ret else 0),
            }
        )

    def split(start: dt.date, end: dt.date) -> dict[str, int]:
        buyers = (
            orders.filter(pl.col("order_date").is_between(start, end))
            .select("customer_id", "first_date")
            .unique("customer_id")
        )
        returning = buyers.filter(pl.col("first_date") < start).height
        return {"new": buyers.height - returning, "returning": returning}

    (start, end), (ly_start, ly_end) = verdict_periods(as_of)
    window = orders.filter(
        pl.col("order_date").is_between(as_of - dt.timedelta(days=REPURCHASE_DAYS - 1), as_of)
    )
    per_customer = window.group_by("customer_id").len()
    return {
        "months": months,
        "current": split(start, end),
        "previous": split(ly_start, ly_end),
        "repurchase": {
            "buyers": per_customer.height,
            "repeat": per_customer.filter(pl.col("len") >= 2).height,
        },
    }


def trend_reports(
    frames: Frames,
    as_of: dt.date,
    organisation_id: int,
    store_ids: Iterable[int],
    owner_ids: Iterable[int],
    managers: Iterable[tuple[int, int | None]] = (),
) -> dict[str, dict[str, Any]]:
    """The dashboard trend data of every scope as of the end of `as_of`; `managers`: each store
    manager's (user id, store id or None)."""
    everything = frames.orders.filter(pl.col("order_date") <= as_of)
    # As many orders as the frames hold are read the way the frames were read (the refresh
    # loads them by the Arrow reader from ANALYTICS_CHILD_READER_MIN_CUSTOMERS customers on).
    large = frames.customers.height >= settings.ANALYTICS_CHILD_READER_MIN_CUSTOMERS
    first = everything.group_by("customer_id").agg(first_date=pl.col("order_date").min())
    since = min(month_start(as_of, TREND_MONTHS - 1), as_of - dt.timedelta(days=REPURCHASE_DAYS))
    dated = everything.filter(pl.col("order_date") >= since).join(first, on="customer_id")
    orders = (
        _with_extras(dated, _order_extras(organisation_id, since, large=large))
        .join(
            frames.customers.select(
                "customer_id", pl.col("store_id").alias("home_store_id"), "owner_id"
            ),
            on="customer_id",
            how="left",
        )
        .with_columns(month=pl.col("order_date").dt.month_start())
    )
    out = {"": _scope_data(orders, as_of)}
    for pk in store_ids:
        part = orders.filter((pl.col("store_id") == pk) | (pl.col("home_store_id") == pk))
        out[f"store:{pk}"] = _scope_data(part, as_of)
    for pk in owner_ids:
        part = orders.filter((pl.col("owner_id") == pk) | (pl.col("staff_id") == pk))
        out[f"owner:{pk}"] = _scope_data(part, as_of)
    for pk, store_id in managers:
        # accounts.scoping: her own customers, plus her store's customers and orders (a
        # manager without a store sees her own customers only, not what she sold elsewhere).
        seen = pl.col("owner_id") == pk
        if store_id is not None:
            seen = seen | (pl.col("store_id") == store_id) | (pl.col("home_store_id") == store_id)
        out[f"manager:{pk}"] = _scope_data(orders.filter(seen), as_of)
    return out
