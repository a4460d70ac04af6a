"""Monthly cohorts by hand and against a loop-over-months reference."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.cohorts import cohorts

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


def orders_frame(rows: list[tuple[int, dt.date, int]]) -> pl.DataFrame:
    """Orders from (customer, date, net cents)."""
    return pl.DataFrame(
        [(c, i + 1, 1, d, net, 0) for i, (c, d, net) in enumerate(rows)],
        schema=ORDER_SCHEMA,
        orient="row",
    )


def cells(frame: pl.DataFrame) -> dict[tuple[dt.date, int], tuple]:
    return {
        (r["cohort_month"], r["k"]): (
            r["customers"],
            r["active"],
            r["share"],
            r["revenue_cents"],
            r["revenue_share"],
            r["complete"],
        )
        for r in frame.iter_rows(named=True)
    }


def test_cohort_triangle_worked_by_hand():
    rows = [
        (1, D(2024, 10, 1), 100),
        (1, D(2024, 12, 1), 200),
        (1, D(2024, 12, 3), 7),
        (2, D(2024, 10, 31), 50),
        (2, D(2024, 11, 30), 10),
        (3, D(2024, 11, 6), 300),
        (4, D(2024, 12, 5), 400),
        (5, D(2022, 1, 1), 5),  # an old cohort, outside the three months shown
        (5, D(2024, 11, 2), 9),
        (6, D(2025, 1, 1), 1),  # after as_of
    ]
    got = cells(cohorts(orders_frame(rows), D(2024, 12, 31), months=3))
    assert got == {
        # October: customers 1 and 2 (revenue 150); November: 2 came back (10);
        # December: 1 came back with two orders (207).
        (D(2024, 10, 1), 0): (2, 2, 1.0, 150, 1.0, True),
        (D(2024, 10, 1), 1): (2, 1, 0.5, 10, pytest.approx(10 / 150), True),
        (D(2024, 10, 1), 2): (2, 1, 0.5, 207, pytest.approx(207 / 150), True),
        (D(2024, 11, 1), 0): (1, 1, 1.0, 300, 1.0, True),
        (D(2024, 11, 1), 1): (1, 0, 0.0, 0, 0.0, True),
        (D(2024, 12, 1), 0): (1, 1, 1.0, 400, 1.0, True),  # 31 December: the month is over
    }


def test_a_running_month_is_incomplete_and_empty_cohorts_still_show():
    rows = [(1, D(2024, 2, 29), 100)]  # leap day
    got = cells(cohorts(orders_frame(rows), D(2024, 3, 15), months=3))
    assert got == {
        (D(2024, 1, 1), 0): (0, 0, None, 0, None, True),
        (D(2024, 1, 1), 1): (0, 0, None, 0, None, True),
        (D(2024, 1, 1), 2): (0, 0, None, 0, None, False),
        (D(2024, 2, 1), 0): (1, 1, 1.0, 100, 1.0, True),
        (D(2024, 2, 1), 1): (1, 0, 0.0, 0, 0.0, False),
        (D(2024, 3, 1), 0): (0, 0, None, 0, None, False),
    }
    # On 29 February 2024 the month is over.
    assert cells(cohorts(orders_frame(rows), D(2024, 2, 29), months=1)) == {
        (D(2024, 2, 1), 0): (1, 1, 1.0, 100, 1.0, True)
    }


def test_months_must_be_positive():
    with pytest.raises(ValueError):
        cohorts(orders_frame([]), D(2024, 1, 1), months=0)


# ---------------------------------------------------------------- reference implementation


def month_add(day: dt.date, k: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + k
    return D(index // 12, index % 12 + 1, 1)


def reference(rows, as_of, months):
    visible = [(c, d, net) for c, d, net in rows if d <= as_of]
    first: dict[int, dt.date] = {}
    for c, d, _ in visible:
        first[c] = min(first.get(c, d), d)
    this_month = D(as_of.year, as_of.month, 1)
    last_day = (month_add(as_of, 1) - dt.timedelta(days=1)).day
    out = {}
    for i in range(months):
        cohort = month_add(this_month, -(months - 1) + i)
        members = {c for c, d in first.items() if D(d.year, d.month, 1) == cohort}
        revenue_0 = None
        k = 0
        while month_add(cohort, k) <= this_month:
            month = month_add(cohort, k)
            active = {c for c, d, _ in visible if c in members and D(d.year, d.month, 1) == month}
            revenue = sum(
                net for c, d, net in visible if c in members and D(d.year, d.month, 1) == month
            )
            if k == 0:
                revenue_0 = revenue
            out[(cohort, k)] = (
                len(members),
                len(active),
                len(active) / len(members) if members else None,
                revenue,
                revenue / revenue_0 if revenue_0 else None,
                month < this_month or as_of.day == last_day,
            )
            k += 1
    return out


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 8),
            st.integers(0, 500).map(lambda k: D(2023, 6, 1) + dt.timedelta(days=k)),
            st.integers(0, 100),
        ),
        max_size=30,
    ),
    as_of=st.integers(200, 520).map(lambda k: D(2023, 6, 1) + dt.timedelta(days=k)),
    months=st.integers(1, 14),
)
def test_matches_reference(rows, as_of, months):
    got = cells(cohorts(orders_frame(rows), as_of, months))
    want = reference(rows, as_of, months)
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key
