"""Lifecycle, RFM and value class of every customer from the kept-up stats (the nightly path).

DESIGN §1.3: per-customer aggregates are kept up to date when orders are written. CustomerStats
holds each customer's first and last counted order time, recomputed in the same transaction
as every order and refund, so the nightly refresh need not read every order ever placed.
What lifecycle, RFM and value class need, and where it comes from here:

- first and last order date: the stats row (converted to local dates);
- the orders inside the RFM look-back: one range read of the order-time index;
- the distinct order date before her last, while she is within her silent threshold (it makes
  her "reactivated"): her look-back orders, or, when the look-back holds only her last visit, a
  seek of her previous order through the (customer, status, time) index;
- the categories of her last order date (her last visit): the stats row again, which keeps
  them (`sales.stats.last_visit_categories`); only the categories whose cycle can lengthen
  her thresholds are looked for in it.

The stats describe exactly the orders up to T when no counted order is later than T, which
holds for the nightly refresh of today; `stats_cover` checks it, and the refresh falls back
to reading every order (`results.core_results`) when it does not hold. Both paths give the
same rows (tests/analytics/test_current.py compares them on random shops).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import Max

from huitouke.accounts.models import Organisation
from huitouke.analytics import lifecycle, rfm
from huitouke.analytics.loader import (
    Query,
    arrow_reads,
    epoch_seconds,
    load_category_cycles,
    read_all,
)
from huitouke.analytics.results import join_core
from huitouke.customers.models import Customer, CustomerStats
from huitouke.sales.models import Order, OrderStatus

__all__ = ["core_results_from_stats", "stats_cover"]

SEEK_CHUNK = 5000  # customer ids per IN (...) list

_INT = pl.Int64()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _day_start(day: dt.date, time_zone: str) -> Any:
    """The first instant of a local day, in the form the database compares order times in."""
    moment = dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(time_zone))
    return connection.ops.adapt_datetimefield_value(moment)


def _local_date(column: str, time_zone: str) -> pl.Expr:
    """A column of epoch seconds (`epoch_seconds`) as the local calendar date."""
    utc = pl.from_epoch(pl.col(column), time_unit="s").dt.replace_time_zone("UTC")
    return utc.dt.convert_time_zone(time_zone).dt.date()


def stats_cover(organisation: Organisation, as_of: dt.date) -> bool:
    """Whether the stats describe exactly the counted orders up to as_of (none is later)."""
    end = dt.datetime.combine(
        as_of + dt.timedelta(days=1), dt.time.min, tzinfo=ZoneInfo(organisation.time_zone)
    )
    latest = CustomerStats.objects.filter(organisation=organisation).aggregate(
        latest=Max("last_order_at")
    )["latest"]
    return latest is None or latest < end


def _orders_where(params: list[Any], organisation: Organisation) -> str:
    params.extend([organisation.pk, OrderStatus.PAID.value])
    return "o.organisation_id = %s AND o.status = %s AND o.customer_id IS NOT NULL"


def _queries(organisation: Organisation, window: tuple[Any, Any, Any]) -> list[Query]:
    """Look-back orders (in two halves), stats and customers.

    `window` holds the instants that start the look-back, split it and end T.
    """
    customer, stats = _q(Customer._meta.db_table), _q(CustomerStats._meta.db_table)
    order = _q(Order._meta.db_table)
    placed = epoch_seconds("o.placed_at")
    org = organisation.pk
    queries: list[Query] = []
    start, middle, end = window
    for lo, hi in ((start, middle), (middle, end)):
        params: list[Any] = []
        where = _orders_where(params, organisation)
        queries.append(
            (
                f"SELECT o.customer_id, {placed},"
                " CAST(ROUND((o.net_paid - o.refunded_amount) * 100) AS BIGINT)"
                f" FROM {order} o WHERE {where} AND o.placed_at >= %s AND o.placed_at < %s",
                [*params, lo, hi],
                [("customer_id", _INT), ("placed", _INT), ("net_cents", _INT)],
            )
        )
    first, last = epoch_seconds("first_order_at"), epoch_seconds("last_order_at")
    queries.append(
        (
            # Merged-away customers are dropped by the join with the customers below.
            f"SELECT customer_id, {first}, {last}, CAST(last_order_categories AS TEXT)"
            f" FROM {stats} WHERE organisation_id = %s"
            " AND first_order_at IS NOT NULL AND last_order_at IS NOT NULL",
            [org],
            [
                ("customer_id", _INT),
                ("first", _INT),
                ("last", _INT),
                ("categories", pl.String()),
            ],
        )
    )
    queries.append(
        (
            f"SELECT id FROM {customer} WHERE organisation_id = %s AND merged_into_id IS NULL",
            [org],
            [("customer_id", _INT)],
        )
    )
    return queries


def _earlier_orders(customer_ids: list[int], before: Any, *, latest_only: bool) -> pl.DataFrame:
    """customer_id, placed: the listed customers' counted orders before an instant.

    latest_only: only each customer's latest such order. The query names only the columns of
    the (customer, status, placed_at) index, so SQLite answers it from the index alone.
    """
    order = _q(Order._meta.db_table)
    placed = epoch_seconds("MAX(o.placed_at)" if latest_only else "o.placed_at")
    queries: list[Query] = []
    for lo in range(0, len(customer_ids), SEEK_CHUNK):
        # The ids are integers from our own frame, written into the SQL as literals rather
        # than bound as thousands of parameters.
        ids = ", ".join(str(int(c)) for c in customer_ids[lo : lo + SEEK_CHUNK])
        sql = (
            f"SELECT o.customer_id, {placed} FROM {order} o"
            f" WHERE o.customer_id IN ({ids}) AND o.status = %s AND o.placed_at < %s"
            + (" GROUP BY o.customer_id" if latest_only else "")
        )
        queries.append(
            (
                sql,
                [OrderStatus.PAID.value, before],
                [("customer_id", _INT), ("placed", _INT)],
            )
        )
    # On PostgreSQL several chunks go through ADBC, two connections at a time (a large shop:
    # over SEEK_CHUNK customers to seek); SQLite's child process would not pay for its start.
    frames = read_all(queries, large=connection.vendor == "postgresql" and len(queries) > 1)
    if not frames:
        return pl.DataFrame(schema={"customer_id": _INT, "placed": _INT})
    return pl.concat(frames, how="vertical")


def core_results_from_stats(
    organisation: Organisation, as_of: dt.date, settings: Any
) -> pl.DataFrame:
    """The rows of `results.core_results`, read from stats and the look-back window.

    Call only when `stats_cover(organisation, as_of)`; `settings` is a `results.Settings`.
    """
    tz = organisation.time_zone
    s_org, c_org = settings.silent_after_days, settings.churned_after_days
    lookback = settings.rfm_lookback_days
    lifecycle.check_thresholds(s_org, c_org)
    if lookback < 1:
        raise ValueError(f"lookback_days must be at least 1, got {lookback}")
    last = pl.col("last_order_date")
    window_first = as_of - dt.timedelta(days=lookback - 1)
    start, end = _day_start(window_first, tz), _day_start(as_of + dt.timedelta(days=1), tz)
    middle = _day_start(window_first + dt.timedelta(days=lookback // 2), tz)
    relevant = lifecycle.relevant_cycles(load_category_cycles(organisation), s_org, c_org)
    frames = read_all(_queries(organisation, (start, middle, end)), large=arrow_reads(organisation))
    stats, customers = frames[-2:]
    stats = stats.join(customers, on="customer_id", how="semi")
    dates = stats.select(
        "customer_id",
        first_order_date=_local_date("first", tz),
        last_order_date=_local_date("last", tz),
    )
    # The look-back's bounds are local midnights, so frequency and money need no per-order
    # date; only the orders of customers whose previous visit is wanted are dated below.
    window = pl.concat(frames[:2], how="vertical")
    cycles = _visit_cycles(stats, relevant)

    previous = _previous_dates(
        organisation, as_of, window_first, (start, end), dates, window, cycles, s_org
    )
    dated = customers.join(dates, on="customer_id", how="left").join(
        previous, on="customer_id", how="left"
    )
    stages = lifecycle.stages(dated, cycles, as_of, s_org, c_org)
    values = (
        _frequency_money(window)
        # Her most recent order in the look-back is her last order.
        .join(dates.select("customer_id", "last_order_date"), on="customer_id", how="inner")
        .with_columns(recency_days=(pl.lit(as_of, pl.Date) - last).dt.total_days().cast(_INT))
    )
    scored = rfm.score(values, settings.rfm_high_low)
    classes = rfm.value_class_of_buyers(customers, dates.select("customer_id"), scored)
    return join_core(stages, scored, classes)


# Customer ids of one organisation are nearly contiguous, so per-customer sums and maxima can be
# taken by indexing arrays with (id - lowest id) instead of hashing a million groups: several
# times faster. Used while the id span is at most 4 × the rows + this slack.
_DENSE_SLACK = 1_000_000
_NO_DAY = np.iinfo(np.int64).min


def _dense(ids: np.ndarray, rows: int) -> tuple[int, int] | None:
    """(lowest id, span) when the ids are contiguous enough for array indexing, else None."""
    if ids.size == 0:
        return None
    lo = int(ids.min())
    span = int(ids.max()) - lo + 1
    return (lo, span) if span <= 4 * rows + _DENSE_SLACK else None


def _frequency_money(window: pl.DataFrame) -> pl.DataFrame:
    """customer_id, frequency (orders) and monetary_cents (their sum) of the look-back."""
    ids = window["customer_id"].to_numpy()
    cents = window["net_cents"].to_numpy()
    dense = _dense(ids, len(ids))
    # Float sums of integers are exact below 2**53 cents (90 trillion yuan).
    if dense is None or int(np.abs(cents).sum()) >= 2**53:
        return window.group_by("customer_id").agg(
            frequency=pl.len().cast(_INT), monetary_cents=pl.col("net_cents").sum()
        )
    lo, span = dense
    index = ids - lo
    orders = np.bincount(index, minlength=span)
    money = np.bincount(index, weights=cents.astype(np.float64), minlength=span)
    bought = np.flatnonzero(orders)
    return pl.DataFrame(
        {
            "customer_id": (bought + lo).astype(np.int64),
            "frequency": orders[bought].astype(np.int64),
            "monetary_cents": money[bought].astype(np.int64),
        }
    )


def _previous_in_window(window: pl.DataFrame, within: pl.DataFrame, tz: str) -> pl.DataFrame:
    """customer_id, previous_order_date: her latest look-back date before her last date.

    Only for the customers of `within` (customer_id, last_order_date); only their orders are
    dated.
    """
    ids = window["customer_id"].to_numpy()
    wanted = within["customer_id"].to_numpy()
    dense = _dense(np.concatenate([ids, wanted]), len(ids))
    if dense is None:
        return (
            window.filter(pl.col("customer_id").is_in(wanted.tolist()))
            .select("customer_id", order_date=_local_date("placed", tz))
            .join(within, on="customer_id", how="inner")
            .filter(pl.col("order_date") < pl.col("last_order_date"))
            .group_by("customer_id")
            .agg(previous_order_date=pl.col("order_date").max())
        )
    lo, span = dense
    last = np.full(span, _NO_DAY, dtype=np.int64)
    last[wanted - lo] = within["last_order_date"].cast(pl.Int32).to_numpy()
    theirs = last[ids - lo] != _NO_DAY
    rows = window.filter(pl.Series(theirs))
    days = rows.select(_local_date("placed", tz).cast(pl.Int32))["placed"].to_numpy()
    index = rows["customer_id"].to_numpy() - lo
    earlier = days < last[index]
    previous = np.full(span, _NO_DAY, dtype=np.int64)
    np.maximum.at(previous, index[earlier], days[earlier])
    found = np.flatnonzero(previous != _NO_DAY)
    return pl.DataFrame(
        {"customer_id": (found + lo).astype(np.int64), "previous_order_date": previous[found]}
    ).with_columns(pl.col("previous_order_date").cast(pl.Int32).cast(pl.Date))


def _visit_cycles(stats: pl.DataFrame, relevant: pl.DataFrame) -> pl.DataFrame:
    """customer_id, cycle_days, cycle_category_id from her last visit's categories.

    `stats.categories` is the JSON list kept in CustomerStats ("[3, 7]"); each relevant
    category is looked for as a whole element. The longest cycle wins, ties to the smaller id.
    """
    cycle = pl.lit(None, _INT)
    category = pl.lit(None, _INT)
    # Applied from the weakest to the strongest, so the strongest match is the last to apply.
    for row in relevant.sort(["cycle_days", "category_id"], descending=[False, True]).iter_rows(
        named=True
    ):
        bought = pl.col("categories").str.contains(
            rf"(^|[\[,\s]){int(row['category_id'])}([,\]\s]|$)"
        )
        cycle = pl.when(bought).then(pl.lit(int(row["cycle_days"]), _INT)).otherwise(cycle)
        category = pl.when(bought).then(pl.lit(int(row["category_id"]), _INT)).otherwise(category)
    return stats.select("customer_id", cycle_days=cycle, cycle_category_id=category).filter(
        pl.col("cycle_days").is_not_null()
    )


def _previous_dates(
    organisation: Organisation,
    as_of: dt.date,
    window_first: dt.date,
    bounds: tuple[Any, Any],
    dates: pl.DataFrame,
    window: pl.DataFrame,
    cycles: pl.DataFrame,
    silent_after_days: int,
) -> pl.DataFrame:
    """customer_id, previous_order_date for buyers within their silent threshold.

    `window_first` is the first local date of the look-back and `bounds` the instants that
    start it and end T; `window` holds the look-back's orders (times as read).
    """
    tz = organisation.time_zone
    start, end = bounds
    last = pl.col("last_order_date")
    within = (
        dates.join(cycles.select("customer_id", "cycle_days"), on="customer_id", how="left")
        .with_columns(
            silent_after=pl.max_horizontal(pl.lit(silent_after_days, _INT), pl.col("cycle_days"))
        )
        .filter(
            (pl.lit(as_of, pl.Date) - last).dt.total_days() <= pl.col("silent_after"),
            pl.col("first_order_date") < last,  # at least two distinct order dates
        )
        .select("customer_id", "last_order_date")
    )
    in_window = _previous_in_window(window, within, tz)
    missing = within.join(in_window, on="customer_id", how="anti")
    # Her look-back orders are all on her last date, so her previous visit is her latest order
    # before the look-back: one seek each.
    recent = missing.filter(last >= window_first)
    sought = _earlier_orders(
        [int(c) for c in recent["customer_id"]], start, latest_only=True
    ).select("customer_id", previous_order_date=_local_date("placed", tz))
    # A cycle longer than the look-back can leave her last visit before it: read her orders.
    older = missing.filter(last < window_first)
    read = (
        _earlier_orders([int(c) for c in older["customer_id"]], end, latest_only=False)
        .select("customer_id", order_date=_local_date("placed", tz))
        .join(older, on="customer_id", how="inner")
        .filter(pl.col("order_date") < last)
        .group_by("customer_id")
        .agg(previous_order_date=pl.col("order_date").max())
    )
    return pl.concat([in_window, sought, read], how="vertical")
