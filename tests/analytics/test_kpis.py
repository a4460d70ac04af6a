"""Period KPIs, comparison periods and second-purchase rate, by hand and against a reference."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.kpis import (
    comparison_periods,
    first_order_dates,
    kpis,
    kpis_compared,
    same_date_last_year,
    second_purchase_rate,
)

D = dt.date
INT = pl.Int64
ORDER_SCHEMA = {
    "customer_id": INT,
    "order_id": INT,
    "store_id": INT,
    "order_date": pl.Date,
    "net_cents": INT,
    "margin_cents": INT,
}


def orders_frame(rows: list[tuple[int, int, dt.date, int, int]]) -> pl.DataFrame:
    """Orders from (customer, store, date, net cents, margin cents)."""
    return pl.DataFrame(
        [(c, i + 1, s, d, net, m) for i, (c, s, d, net, m) in enumerate(rows)],
        schema=ORDER_SCHEMA,
        orient="row",
    )


def customers_frame(owners: dict[int, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": list(owners),
            "store_id": [None] * len(owners),
            "owner_id": list(owners.values()),
        },
        schema={"customer_id": INT, "store_id": INT, "owner_id": INT},
    )


DEC = (D(2024, 12, 1), D(2024, 12, 31))
ROWS = [
    (1, 1, D(2024, 1, 1), 100, 10),  # c1's first order, long before December
    (1, 1, D(2024, 12, 1), 200, 20),
    (1, 2, D(2024, 12, 3), 7, 1),
    (2, 1, D(2024, 12, 6), 300, 30),
    (3, 2, D(2024, 12, 31), 400, 40),  # the last day of the period counts
    (4, 1, D(2022, 1, 1), 5, 1),
    (5, 1, D(2025, 1, 1), 999, 99),  # after the period
]


def test_org_kpis_worked_by_hand():
    row = kpis(orders_frame(ROWS), None, *DEC).row(0, named=True)
    assert {k: row[k] for k in ("buyers", "new_buyers", "returning_buyers", "orders")} == {
        "buyers": 3,
        "new_buyers": 2,
        "returning_buyers": 1,
        "orders": 4,
    }
    assert (row["revenue_cents"], row["margin_cents"]) == (907, 91)
    assert row["aov_cents"] == pytest.approx(907 / 4)
    assert row["frequency"] == pytest.approx(4 / 3)
    assert row["repurchase_rate"] == pytest.approx(1 / 3)
    assert row["returning_revenue_share"] == pytest.approx(207 / 907)


def test_first_order_comes_from_all_history_not_the_period():
    orders = orders_frame(ROWS)
    december_only = orders.filter(pl.col("order_date").is_between(*DEC))
    firsts = first_order_dates(orders)
    # Passing the full-history first orders with period-only orders still sees c1 as returning.
    assert kpis(december_only, firsts, *DEC)["returning_buyers"].item() == 1
    assert kpis(december_only, None, *DEC)["returning_buyers"].item() == 0


def test_kpis_per_store_credit_the_store_of_each_order():
    res = {
        r["store_id"]: r
        for r in kpis(orders_frame(ROWS), None, *DEC, "store_id").iter_rows(named=True)
    }
    assert set(res) == {1, 2}
    # Store 1: c1 (200, returning) and c2 (300, new). Store 2: c1 (7) and c3 (400, new).
    assert [
        (res[s]["buyers"], res[s]["new_buyers"], res[s]["returning_buyers"]) for s in (1, 2)
    ] == [
        (2, 1, 1),
        (2, 1, 1),
    ]
    assert (res[1]["revenue_cents"], res[2]["revenue_cents"]) == (500, 407)
    assert res[1]["returning_revenue_share"] == pytest.approx(200 / 500)
    assert res[2]["returning_revenue_share"] == pytest.approx(7 / 407)
    assert res[1]["repurchase_rate"] == 0.0


def test_kpis_per_owner_use_the_customers_owner():
    owners = customers_frame({1: 7, 2: None, 3: 7, 4: 8})
    res = {
        r["owner_id"]: r
        for r in kpis(orders_frame(ROWS), None, *DEC, "owner_id", owners).iter_rows(named=True)
    }
    assert set(res) == {7, None}
    assert (res[7]["buyers"], res[7]["orders"], res[7]["revenue_cents"]) == (2, 3, 607)
    assert res[7]["repurchase_rate"] == pytest.approx(1 / 2)
    assert (res[None]["buyers"], res[None]["revenue_cents"]) == (1, 300)
    with pytest.raises(ValueError):
        kpis(orders_frame(ROWS), None, *DEC, "owner_id")


def test_an_empty_period_gives_zeros_and_no_ratios():
    row = kpis(orders_frame(ROWS), None, D(2023, 6, 1), D(2023, 6, 30)).row(0, named=True)
    assert (row["buyers"], row["orders"], row["revenue_cents"]) == (0, 0, 0)
    assert row["aov_cents"] is None
    assert row["repurchase_rate"] is None


def test_comparison_periods_worked_by_hand():
    assert comparison_periods(*DEC) == {
        "current": DEC,
        "previous": (D(2024, 10, 31), D(2024, 11, 30)),  # 31 days before
        "last_year": (D(2023, 12, 1), D(2023, 12, 31)),
    }
    # A whole February compares with a whole February, whichever year is the leap one.
    assert comparison_periods(D(2025, 2, 1), D(2025, 2, 28))["last_year"] == (
        D(2024, 2, 1),
        D(2024, 2, 29),
    )
    assert comparison_periods(D(2024, 2, 1), D(2024, 2, 29))["last_year"] == (
        D(2023, 2, 1),
        D(2023, 2, 28),
    )
    assert comparison_periods(D(2025, 2, 1), D(2025, 2, 28))["previous"] == (
        D(2025, 1, 4),
        D(2025, 1, 31),
    )
    # 2024-02-29 .. 2024-03-31 is 32 days.
    assert comparison_periods(D(2024, 2, 29), D(2024, 3, 31)) == {
        "current": (D(2024, 2, 29), D(2024, 3, 31)),
        "previous": (D(2024, 1, 28), D(2024, 2, 28)),
        "last_year": (D(2023, 2, 28), D(2023, 3, 31)),
    }
    assert same_date_last_year(D(2024, 2, 29)) == D(2023, 2, 28)
    assert same_date_last_year(D(2024, 2, 28)) == D(2023, 2, 28)
    with pytest.raises(ValueError):
        comparison_periods(D(2024, 2, 2), D(2024, 2, 1))


def test_kpis_compared_stack_three_periods():
    rows = [*ROWS, (2, 1, D(2024, 11, 15), 50, 5), (6, 1, D(2023, 12, 24), 70, 7)]
    res = {
        r["period"]: r for r in kpis_compared(orders_frame(rows), None, *DEC).iter_rows(named=True)
    }
    assert (res["current"]["buyers"], res["current"]["new_buyers"]) == (3, 1)  # c2 now returns
    assert (res["previous"]["period_start"], res["previous"]["buyers"]) == (D(2024, 10, 31), 1)
    assert res["previous"]["revenue_cents"] == 50
    assert (res["last_year"]["buyers"], res["last_year"]["new_buyers"]) == (1, 1)


def test_second_purchase_rate_worked_by_hand():
    rows = [
        # a: 2024-01-10 -> 2024-04-09 is 21 + 29 + 31 + 9 = 90 days: again within 90.
        ("a", D(2024, 1, 10)),
        ("a", D(2024, 4, 9)),
        # b: 2024-01-31 -> 2024-04-30 is 29 + 31 + 30 = 90 days.
        ("b", D(2024, 1, 31)),
        ("b", D(2024, 4, 30)),
        # c: a same-day second order is not a second purchase; 2024-04-15 is 91 days on.
        ("c", D(2024, 1, 15)),
        ("c", D(2024, 1, 15)),
        ("c", D(2024, 4, 15)),
        ("d", D(2023, 12, 31)),
        ("d", D(2024, 1, 5)),  # first order before the cohort
        ("e", D(2024, 1, 20)),
    ]
    ids = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    orders = orders_frame([(ids[c], 1, d, 10, 1) for c, d in rows])
    full = second_purchase_rate(orders, D(2024, 1, 1), D(2024, 1, 31), as_of=D(2024, 12, 31))
    assert full.row(0, named=True) == {
        "cohort_customers": 4,
        "second_purchasers": 2,
        "second_purchase_rate": 0.5,
        "window_complete": True,
    }
    early = second_purchase_rate(orders, D(2024, 1, 1), D(2024, 1, 31), as_of=D(2024, 4, 9))
    assert early.row(0, named=True) == {
        "cohort_customers": 4,
        "second_purchasers": 1,
        "second_purchase_rate": 0.25,
        "window_complete": False,
    }
    short = second_purchase_rate(orders, D(2024, 1, 1), D(2024, 1, 31), 89, as_of=D(2024, 12, 31))
    assert short["second_purchasers"].item() == 0


# ---------------------------------------------------------------- reference implementation


def ref_kpis(rows, start, end, by_store):
    first: dict[int, dt.date] = {}
    for c, _s, d, _net, _m in rows:
        first[c] = min(first.get(c, d), d)
    groups: defaultdict[int | None, defaultdict[int, list[int]]]
    groups = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))  # group -> customer -> n, net, m
    for c, s, d, net, m in rows:
        if start <= d <= end:
            cell = groups[s if by_store else None][c]
            cell[0] += 1
            cell[1] += net
            cell[2] += m
    out = {}
    for g, buyers in groups.items():
        returning = [c for c in buyers if first[c] < start]
        revenue = sum(v[1] for v in buyers.values())
        n_orders = sum(v[0] for v in buyers.values())
        out[g] = {
            "buyers": len(buyers),
            "new_buyers": len(buyers) - len(returning),
            "returning_buyers": len(returning),
            "orders": n_orders,
            "revenue_cents": revenue,
            "margin_cents": sum(v[2] for v in buyers.values()),
            "aov_cents": revenue / n_orders,
            "frequency": n_orders / len(buyers),
            "repurchase_rate": sum(1 for v in buyers.values() if v[0] >= 2) / len(buyers),
            "returning_revenue_share": (
                sum(buyers[c][1] for c in returning) / revenue if revenue else None
            ),
        }
    return out


BASE = D(2024, 2, 1)
order_rows = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.integers(1, 3),
        st.integers(0, 60).map(lambda k: BASE + dt.timedelta(days=k)),  # spans 29 Feb 2024
        st.integers(0, 100),
        st.integers(-20, 50),
    ),
    max_size=30,
)


@settings(max_examples=50, deadline=None)
@given(
    rows=order_rows,
    start=st.integers(0, 60).map(lambda k: BASE + dt.timedelta(days=k)),
    length=st.integers(0, 20),
    by_store=st.booleans(),
)
def test_kpis_match_reference(rows, start, length, by_store):
    end = start + dt.timedelta(days=length)
    frame = kpis(orders_frame(rows), None, start, end, "store_id" if by_store else None)
    expected = ref_kpis(rows, start, end, by_store)
    # The org-wide frame always has its one row, even with no buyers.
    got = {
        r["store_id"] if by_store else None: r
        for r in frame.iter_rows(named=True)
        if r["buyers"] > 0
    }
    assert set(got) == set(expected)
    for g, want in expected.items():
        for k, v in want.items():
            assert got[g][k] == (pytest.approx(v) if isinstance(v, float) else v), (g, k)


def ref_second_purchase(rows, cohort_start, cohort_end, within, as_of):
    days = defaultdict(list)
    for c, _s, d, _net, _m in rows:
        if d <= as_of:
            days[c].append(d)
    cohort = [c for c, ds in days.items() if cohort_start <= min(ds) <= cohort_end]
    again = [c for c in cohort if any(1 <= (d - min(days[c])).days <= within for d in days[c])]
    return len(cohort), len(again)


@settings(max_examples=50, deadline=None)
@given(
    rows=order_rows,
    start=st.integers(0, 30).map(lambda k: BASE + dt.timedelta(days=k)),
    length=st.integers(0, 20),
    within=st.integers(1, 30),
    as_of=st.integers(0, 70).map(lambda k: BASE + dt.timedelta(days=k)),
)
def test_second_purchase_rate_matches_reference(rows, start, length, within, as_of):
    end = start + dt.timedelta(days=length)
    row = second_purchase_rate(orders_frame(rows), start, end, within, as_of=as_of).row(
        0, named=True
    )
    n, again = ref_second_purchase(rows, start, end, within, as_of)
    assert (row["cohort_customers"], row["second_purchasers"]) == (n, again)
    assert row["second_purchase_rate"] == (pytest.approx(again / n) if n else None)
