"""The per-scope reports computed once for every scope give what each scope's orders give.

`reports.kpi_reports` finds the second-purchase figures of every scope from one table of the
customers who first bought in a window, and `reports.cohort_reports` drops the orders of
customers outside the cohort months before splitting by scope. Both are compared here, value
by value, with the reports built the plain way: every scope's own orders through
`kpis.second_purchase_rate` and `cohorts.cohorts`. `reports.category_performance` joins
the lines with the orders of its two periods only, compared with a join with every order.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from huitouke.analytics import cohorts, kpis, reports, trends
from huitouke.analytics.loader import Frames

D = dt.date
STORES = [1, 2, 3]
OWNERS = [10, 11, 12]  # 12 owns nobody


def random_frames(seed: int, as_of: dt.date) -> Frames:
    """Customers with a home store and owner (or none), orders over two years up to as_of
    and a few after it, placed in any store."""
    rng = np.random.default_rng(seed)
    n = 400
    customers = pl.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "store_id": rng.choice([1, 2, 3, -1], n),
            "owner_id": rng.choice([10, 11, -1], n),
        }
    ).with_columns(pl.col("store_id", "owner_id").replace(-1, None))
    m = 4000
    # Customer 999 is not in the customers frame (merged away): she counts org-wide only.
    who = np.append(rng.integers(1, n + 1, m - 5), [999] * 5)
    # Customers from 301 on started buying in the last 300 days: recent cohorts.
    days = np.where(who > 300, rng.integers(-300, 20, m), rng.integers(-760, 20, m))
    orders = pl.DataFrame(
        {
            "customer_id": who,
            "order_id": np.arange(1, m + 1),
            "store_id": rng.choice(STORES, m),
            "order_date": [as_of + dt.timedelta(days=int(d)) for d in days],
            "net_cents": rng.integers(100, 50_000, m),
            "margin_cents": rng.integers(-100, 20_000, m),
        }
    )
    # One or two lines an order, some refunded to nothing (qty 0), some without a category.
    twice = orders.filter(pl.Series(rng.random(m) < 0.3))
    both = pl.concat([orders, twice]).sort("order_id")
    k = both.height
    lines = both.select(
        "order_id",
        "customer_id",
        "order_date",
        product_id=pl.Series(rng.integers(1, 9, k)),
        category_id=pl.Series(rng.choice([1, 2, 3, -1], k)).replace(-1, None),
        qty=pl.Series(rng.integers(0, 3, k)),
        net_cents=pl.col("net_cents") // 2,
        cost_cents=pl.Series(rng.integers(0, 9_000, k)),
    )
    cycles = pl.DataFrame(schema={"category_id": pl.Int64, "cycle_days": pl.Int64})
    return Frames(customers=customers, orders=orders, lines=lines, category_cycles=cycles)


def by_scope(frames: Frames, orders: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every scope's orders, split by her home store or owner."""
    out = {"": orders}
    for ids, key, scope in (
        (STORES, "store_id", reports.store_scope),
        (OWNERS, "owner_id", reports.owner_scope),
    ):
        for pk in ids:
            mine = frames.customers.filter(pl.col(key) == pk)["customer_id"]
            out[scope(pk)] = orders.join(mine.to_frame(), on="customer_id", how="semi")
    return out


AS_OFS = [D(2024, 6, 30), D(2024, 3, 1), D(2025, 1, 31)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("as_of", AS_OFS)
def test_second_purchases_of_every_scope_are_each_scopes_own(seed, as_of):
    frames = random_frames(seed, as_of)
    got = reports.kpi_reports(frames, as_of, STORES, OWNERS)
    orders = frames.orders.filter(pl.col("order_date") <= as_of)
    windows = reports._second_purchase_windows(as_of)
    some = 0
    for scope, part in by_scope(frames, orders).items():
        expected: dict[str, object] = {"within_days": reports.SECOND_PURCHASE_DAYS}
        for name, (start, end) in windows.items():
            row = kpis.second_purchase_rate(
                part, start, end, reports.SECOND_PURCHASE_DAYS, as_of=as_of
            )
            expected[name] = {
                "start": start.isoformat(),
                "end": end.isoformat(),
                **reports.json_rows(row)[0],
            }
            some += row["second_purchasers"].item()
        assert got[scope]["second_purchase"] == expected, scope
    assert some > 0  # the data has second purchases to count


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("as_of", AS_OFS)
def test_kpis_of_the_periods_alone_are_the_kpis_of_all_orders(seed, as_of):
    frames = random_frames(seed, as_of)
    got = reports.kpi_reports(frames, as_of, STORES, OWNERS)
    orders = frames.orders.filter(pl.col("order_date") <= as_of)
    first = kpis.first_order_dates(orders)
    start, end = reports._periods(as_of)["current"]
    for group_by, ids, scope in (
        (None, [None], lambda _: ""),
        ("store_id", STORES, reports.store_scope),
        ("owner_id", OWNERS, reports.owner_scope),
    ):
        table = kpis.kpis_compared(orders, first, start, end, group_by, frames.customers)
        for pk in ids:
            rows = table.filter(pl.col(group_by) == pk) if group_by else table
            for row in rows.iter_rows(named=True):
                stored = got[scope(pk)][row["period"]]
                assert stored == {f: reports._clean(row[f]) for f in reports._KPI_FIELDS}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("as_of", AS_OFS)
def test_cohorts_of_recent_customers_only_are_each_scopes_cohorts(seed, as_of):
    frames = random_frames(seed, as_of)
    got = reports.cohort_reports(frames, as_of, STORES, OWNERS)
    orders = frames.orders.filter(pl.col("order_date") <= as_of)
    for scope, part in by_scope(frames, orders).items():
        cells = cohorts.cohorts(part, as_of, reports.COHORT_MONTHS)
        assert got[scope] == {"months": reports.COHORT_MONTHS, "cells": reports.json_rows(cells)}
    kept = cohorts.recent_cohorts_only(frames.orders, as_of, reports.COHORT_MONTHS)
    assert 0 < kept.height < orders.height  # some customers' orders were left out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("as_of", AS_OFS)
def test_category_performance_with_the_periods_orders_is_that_with_every_order(seed, as_of):
    frames = random_frames(seed, as_of)
    got = reports.category_performance(frames, as_of, STORES, OWNERS)
    # The same report from lines whose orders are looked up among every order: the orders
    # frame given to it is every order, while its own filter would keep only the periods'.
    dates = frames.orders["order_date"]
    moved = frames.orders.with_columns(order_date=pl.lit(as_of))  # every order "in" a period
    plain = reports.category_performance(
        Frames(frames.customers, moved, frames.lines, frames.category_cycles),
        as_of,
        STORES,
        OWNERS,
    )
    assert got == plain
    assert got[""]["rows"] and dates.min() < reports._periods(as_of)["previous"][0]


@pytest.mark.parametrize("seed", range(3))
def test_trends_find_each_orders_extras_as_a_left_join_would(seed):
    """The trends' seller and paid amount per order, found by binary search in the extras (or
    by a join when they are not in id order), equal a left join: orders the extras lack get
    nulls."""
    frames = random_frames(seed, D(2024, 6, 30))
    rng = np.random.default_rng(seed)
    orders = frames.orders.sample(fraction=1.0, shuffle=True, seed=seed)
    kept = frames.orders.filter(pl.Series(rng.random(frames.orders.height) < 0.9))
    extras = kept.select(
        "order_id",
        staff_id=pl.Series(rng.choice([7, 8, -1], kept.height)).replace(-1, None),
        paid_cents=pl.col("net_cents") + 1,
    )
    for given in (extras, extras.reverse(), extras.clear()):
        expected = orders.join(given, on="order_id", how="left")
        got = trends._with_extras(orders, given)
        assert_frame_equal(got.sort("order_id"), expected.sort("order_id"))
        assert got["staff_id"].null_count() > 0
