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


_HOUR, _DAY = 3600, 86400
_MAX_HOURS = 1_000_000  # the widest span of instants (114 years) dated by the hour table


def _local_days(epochs: np.ndarray, time_zone: str) -> np.ndarray:
    """Epoch seconds as local dates, in days since 1970-01-01 (int64); `_local_date`'s dates.

    Converting each instant is the slow part of dating millions of orders, so the zone's UTC
    offset is found once for every hour the instants span, and each instant takes its hour's:
    its local day is then (seconds + offset) // 86400. An hour in which the offset changes
    (a transition not on the hour) has its instants converted one by one.
    """
    if epochs.size == 0:
        return epochs.astype(np.int64)
    hours = epochs // _HOUR
    lo, span = int(hours.min()), int(hours.max() - hours.min()) + 1
    if span > _MAX_HOURS:
        return _converted(epochs, time_zone)
    starts = (lo + np.arange(span, dtype=np.int64)) * _HOUR
    offsets = pl.DataFrame({"start": starts, "end": starts + _HOUR - 1}).select(
        (_local_seconds(c, time_zone) - pl.col(c)).alias(c) for c in ("start", "end")
    )
    begin = offsets["start"].to_numpy()
    days = (epochs + begin[hours - lo]) // _DAY
    changing = np.flatnonzero(begin != offsets["end"].to_numpy())
    if changing.size:
        inside = np.isin(hours - lo, changing)
        days[inside] = _converted(epochs[inside], time_zone)
    return days


def _local_seconds(column: str, time_zone: str) -> pl.Expr:
    """Epoch seconds as the local wall-clock time, in seconds since 1970-01-01 00:00."""
    utc = pl.from_epoch(pl.col(column), time_unit="s").dt.replace_time_zone("UTC")
    wall = utc.dt.convert_time_zone(time_zone).dt.replace_time_zone(None)
    return wall.dt.epoch("s")


def _converted(epochs: np.ndarray, time_zone: str) -> np.ndarray:
    dates = pl.DataFrame({"s": epochs}).select(_local_date("s", time_zone).cast(pl.Int32))
    return dates["s"].to_numpy().astype(np.int64)


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
    Every per-customer figure is an array indexed by her position among the organisation's
    customers (`_Positions`), so no frame of a million rows is joined or grouped.
    """
    tz = organisation.time_zone
    s_org, c_org = settings.silent_after_days, settings.churned_after_days
    lookback = settings.rfm_lookback_days
    lifecycle.check_thresholds(s_org, c_org)
    if lookback < 1:
        raise ValueError(f"lookback_days must be at least 1, got {lookback}")
    window_first = as_of - dt.timedelta(days=lookback - 1)
    start, end = _day_start(window_first, tz), _day_start(as_of + dt.timedelta(days=1), tz)
    middle = _day_start(window_first + dt.timedelta(days=lookback // 2), tz)
    relevant = lifecycle.relevant_cycles(load_category_cycles(organisation), s_org, c_org)
    *halves, stats, customers = read_all(
        _queries(organisation, (start, middle, end)), large=arrow_reads(organisation)
    )
    at = _Positions(customers["customer_id"].to_numpy())
    n = at.ids.size
    # Merged-away customers' stats rows have no position and are dropped.
    row_at = at.of(stats["customer_id"].to_numpy())
    stats = stats.filter(pl.Series(row_at >= 0))
    row_at = row_at[row_at >= 0]
    has = np.zeros(n, dtype=bool)
    has[row_at] = True
    first_day, last_day = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    first_day[row_at] = _local_days(stats["first"].to_numpy(), tz)
    last_day[row_at] = _local_days(stats["last"].to_numpy(), tz)
    cycles = _visit_cycles(stats, relevant)
    cycle_days = np.zeros(n, dtype=np.int64)
    cycle_days[at.of(cycles["customer_id"].to_numpy())] = cycles["cycle_days"].to_numpy()

    # The look-back's bounds are local midnights, so frequency and money need no per-order
    # date; only the orders of customers whose previous visit is wanted are dated below.
    # Orders of a customer without a stats row (merged away) count for no one.
    window = pl.concat(halves, how="vertical")
    order_at = at.of(window["customer_id"].to_numpy())
    counted = order_at >= 0
    counted[counted] = has[order_at[counted]]
    frequency = np.bincount(order_at[counted], minlength=n)
    money = np.zeros(n, dtype=np.int64)
    np.add.at(money, order_at[counted], window["net_cents"].to_numpy()[counted])

    as_of_day = _epoch_day(as_of)
    silent_after = np.maximum(s_org, cycle_days)  # cycle_days is 0 where she has none
    # Within her silent threshold, with at least two distinct order dates.
    within = has & (as_of_day - last_day <= silent_after) & (first_day < last_day)
    previous = _previous_days(
        organisation,
        window_first,
        (start, end),
        (at, order_at, counted),
        (last_day, within),
        window,
    )
    dated = pl.DataFrame(
        {
            "customer_id": pl.Series(at.ids).set_sorted(),
            "first_order_date": _dates(first_day, has),
            "last_order_date": _dates(last_day, has),
            "previous_order_date": _dates(previous, previous != _NO_DAY),
        }
    )
    stages = lifecycle.stages(dated, cycles, as_of, s_org, c_org)
    bought = np.flatnonzero(frequency > 0)
    values = pl.DataFrame(
        {
            "customer_id": pl.Series(at.ids[bought]).set_sorted(),
            # Her most recent order in the look-back is her last order.
            "recency_days": as_of_day - last_day[bought],
            "frequency": frequency[bought].astype(np.int64),
            "monetary_cents": money[bought],
        }
    )
    scored = rfm.score(values, settings.rfm_high_low)
    buyers = pl.DataFrame({"customer_id": pl.Series(at.ids[has]).set_sorted()})
    classes = rfm.value_class_of_buyers(dated.select("customer_id"), buyers, scored)
    return join_core(stages, scored, classes)


_EPOCH = dt.date(1970, 1, 1)
_NO_DAY = np.iinfo(np.int64).min


def _epoch_day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _dates(days: np.ndarray, present: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 as a Date column, null where not present."""
    return pl.select(
        pl.when(pl.Series(present)).then(pl.Series(days.astype(np.int32)).cast(pl.Date))
    ).to_series()


# Customer ids of one organisation are nearly contiguous, so a customer's position among them
# is found by indexing an array with (id - lowest id) instead of searching: several times
# faster. Used while the id span is at most 4 × the rows + this slack.
_DENSE_SLACK = 1_000_000


class _Positions:
    """Positions of customer ids among the organisation's customers, sorted by id."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.sort(ids.astype(np.int64))
        self.lo = int(self.ids[0]) if self.ids.size else 0
        span = int(self.ids[-1]) - self.lo + 1 if self.ids.size else 0
        self.table: np.ndarray | None = None
        if span <= 4 * self.ids.size + _DENSE_SLACK:
            self.table = np.full(span, -1, dtype=np.int64)
            self.table[self.ids - self.lo] = np.arange(self.ids.size)

    def of(self, ids: np.ndarray) -> np.ndarray:
        """Each id's position, -1 for an id that is not one of the customers'."""
        if self.table is not None:
            offset = ids.astype(np.int64) - self.lo
            inside = (offset >= 0) & (offset < self.table.size)
            found = np.full(ids.size, -1, dtype=np.int64)
            found[inside] = self.table[offset[inside]]
            return found
        at = np.minimum(np.searchsorted(self.ids, ids), max(self.ids.size - 1, 0))
        hit = self.ids[at] == ids if self.ids.size else np.zeros(ids.size, dtype=bool)
        return np.where(hit, at, -1)


def _latest_before(
    order_at: np.ndarray,
    order_day: np.ndarray,
    last_day: np.ndarray,
    previous: np.ndarray,
) -> None:
    """Raise previous[p] to each listed order's local day before her last day (in place)."""
    earlier = order_day < last_day[order_at]
    np.maximum.at(previous, order_at[earlier], order_day[earlier])


def _order_days(frame: pl.DataFrame, tz: str) -> np.ndarray:
    return _local_days(frame["placed"].to_numpy(), tz)


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


def _previous_days(
    organisation: Organisation,
    window_first: dt.date,
    bounds: tuple[Any, Any],
    orders: tuple[_Positions, np.ndarray, np.ndarray],
    last: tuple[np.ndarray, np.ndarray],
    window: pl.DataFrame,
) -> np.ndarray:
    """Per customer position: the distinct order day before her last, for those `within`.

    `window_first` is the first local date of the look-back and `bounds` the instants that
    start it and end T; `orders` the positions, each look-back order's position and which of
    them count; `last` each customer's last order day and whether she is within her silent
    threshold (with two distinct order dates). _NO_DAY where none is wanted or found.
    """
    tz = organisation.time_zone
    start, end = bounds
    at, order_at, counted = orders
    last_day, within = last
    previous = np.full(at.ids.size, _NO_DAY, dtype=np.int64)
    theirs = counted.copy()
    theirs[theirs] = within[order_at[theirs]]
    placed = window["placed"].to_numpy()[theirs]
    _latest_before(order_at[theirs], _local_days(placed, tz), last_day, previous)
    missing = within & (previous == _NO_DAY)
    # Her look-back orders are all on her last date, so her previous visit is her latest order
    # before the look-back: one seek each.
    first_day = _epoch_day(window_first)
    recent = at.ids[missing & (last_day >= first_day)]
    sought = _earlier_orders([int(c) for c in recent], start, latest_only=True)
    _latest_before(
        at.of(sought["customer_id"].to_numpy()), _order_days(sought, tz), last_day, previous
    )
    # A cycle longer than the look-back can leave her last visit before it: read her orders.
    older = at.ids[missing & (last_day < first_day)]
    read = _earlier_orders([int(c) for c in older], end, latest_only=False)
    _latest_before(at.of(read["customer_id"].to_numpy()), _order_days(read, tz), last_day, previous)
    return previous
