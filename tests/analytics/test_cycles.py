"""Repurchase cycles and due customers, by hand and against a statistics-module reference."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.cycles import configured_windows, cycles, due
from huitouke.analytics.frames import sort_packed

D = dt.date
INT = pl.Int64
LINE_SCHEMA = {
    "order_id": INT,
    "customer_id": INT,
    "order_date": pl.Date,
    "product_id": INT,
    "category_id": INT,
    "qty": INT,
    "net_cents": INT,
    "cost_cents": INT,
}


def lines_frame(rows: Sequence[tuple[int, dt.date, int, int | None, int]]) -> pl.DataFrame:
    """Lines from (customer, date, product, category, qty); one order per customer and day."""
    order_ids: dict[tuple[int, dt.date], int] = {}
    out = []
    for c, d, p, cat, qty in rows:
        oid = order_ids.setdefault((c, d), len(order_ids) + 1)
        out.append((oid, c, d, p, cat, qty, 100 * qty, 40 * qty))
    return pl.DataFrame(out, schema=LINE_SCHEMA, orient="row")


def rows_by_key(frame: pl.DataFrame, key: str) -> dict[int, dict]:
    return {r[key]: r for r in frame.iter_rows(named=True)}


T = D(2024, 6, 30)
HAND = [
    # customer 1, category 50: 01-01, 01-11 (twice that day), 02-10 -> gaps 10, 30
    (1, D(2024, 1, 1), 5, 50, 1),
    (1, D(2024, 1, 11), 5, 50, 1),
    (1, D(2024, 1, 11), 6, 50, 2),
    (1, D(2024, 2, 10), 5, 50, 1),
    # customer 2, category 50: 02-28 -> 03-01 is 2 days in 2024 (29 Feb), then 03-01 -> 05-10
    # is 30 + 30 + 10 = 70 days.
    (2, D(2024, 2, 28), 7, 50, 1),
    (2, D(2024, 3, 1), 7, 50, 1),
    (2, D(2024, 5, 10), 8, 50, 1),
    # noise that must not count
    (3, D(2024, 1, 1), 9, None, 1),  # no category
    (3, D(2024, 2, 1), 9, None, 1),
    (4, D(2024, 1, 1), 5, 50, 1),
    (4, D(2024, 1, 20), 5, 50, 0),  # fully refunded line
    (4, D(2024, 7, 1), 5, 50, 1),  # after T
]


def test_category_cycles_worked_by_hand():
    res = rows_by_key(cycles(lines_frame(HAND), T), "category_id")
    assert set(res) == {50}
    # Gaps 2, 10, 30, 70 (sorted). Linear quantiles at positions 0.75, 1.5, 2.25:
    # p25 = 2 + 0.75 * 8 = 8, median = 10 + 0.5 * 20 = 20, p75 = 30 + 0.25 * 40 = 40.
    assert res[50] == {
        "category_id": 50,
        "count": 4,
        "customers": 2,
        "p25": 8.0,
        "median": 20.0,
        "p75": 40.0,
    }


def test_product_cycles_worked_by_hand():
    res = rows_by_key(cycles(lines_frame(HAND), T, by="product_id"), "product_id")
    # Product 5: customer 1 on 01-01, 01-11, 02-10 (10, 30); customer 4 has one purchase only.
    # Product 7: customer 2, gap 2. Product 9 has no category but counts by product: 31 days.
    # Products 6 and 8 were bought once each.
    assert set(res) == {5, 7, 9}
    assert (res[9]["count"], res[9]["median"]) == (1, 31.0)
    assert (res[5]["count"], res[5]["p25"], res[5]["median"], res[5]["p75"]) == (
        2,
        15.0,
        20.0,
        25.0,
    )
    assert (res[7]["count"], res[7]["p25"], res[7]["median"], res[7]["p75"]) == (1, 2.0, 2.0, 2.0)


def test_due_uses_the_learned_window_with_both_ends_included():
    stats = cycles(lines_frame(HAND), T)  # category 50: [8, 40]
    rows = [
        (10, D(2024, 6, 22), 1, 50, 1),  # 8 days before T: due (p25 included)
        (11, D(2024, 5, 21), 1, 50, 1),  # 40 days: due (p75 included)
        (12, D(2024, 5, 20), 1, 50, 1),  # 41 days: not
        (13, D(2024, 6, 23), 1, 50, 1),  # 7 days: not yet
        (14, D(2024, 1, 1), 1, 50, 1),  # an old purchase ...
        (14, D(2024, 6, 25), 1, 50, 1),  # ... but the last one is 5 days ago: not due
        (15, D(2024, 6, 1), 1, 51, 1),  # category without learned cycle
    ]
    res = due(lines_frame(rows), stats, T)
    assert res.select("customer_id", "category_id", "days_since_last").rows() == [
        (10, 50, 8),
        (11, 50, 40),
    ]
    assert set(res["window_source"]) == {"learned"}


def test_configured_windows_replace_learned_ones():
    stats = cycles(lines_frame(HAND), T)
    configured = pl.DataFrame(
        {"category_id": [51], "cycle_days": [30]}, schema={"category_id": INT, "cycle_days": INT}
    )
    windows = configured_windows(configured)  # 30 * 0.75 = 22.5 -> 22, 30 * 1.25 = 37.5 -> 38
    assert windows.rows() == [(51, 22, 38)]
    rows = [(15, D(2024, 6, 1), 1, 51, 1), (16, D(2024, 6, 9), 1, 51, 1)]  # 29 and 21 days
    res = due(lines_frame(rows), stats, T, windows)
    assert res.select("customer_id", "category_id", "window_source").rows() == [
        (15, 51, "configured")
    ]
    # A configured window wins over the learned one for the same category.
    override = pl.DataFrame({"category_id": [50], "due_from_days": [0], "due_to_days": [3]})
    res = due(lines_frame([(10, D(2024, 6, 22), 1, 50, 1), (17, T, 1, 50, 1)]), stats, T, override)
    assert res["customer_id"].to_list() == [17]
    assert configured_windows(
        pl.DataFrame({"category_id": [1], "cycle_days": [10]}), spread=0.1
    ).rows() == [(1, 9, 11)]  # float noise in 10 * 1.1 does not widen the window


def test_min_count_drops_thin_learned_cycles():
    stats = cycles(lines_frame(HAND), T, by="product_id")
    rows = [(20, D(2024, 6, 28), 7, 50, 1)]  # 2 days after buying product 7: its only gap
    assert due(lines_frame(rows), stats, T, by="product_id")["customer_id"].to_list() == [20]
    assert due(lines_frame(rows), stats, T, by="product_id", min_count=2).height == 0


def test_nothing_bought_gives_empty_frames():
    empty = lines_frame([])
    assert cycles(empty, T).height == 0
    assert due(empty, cycles(empty, T), T).height == 0
    with pytest.raises(ValueError):
        cycles(empty, T, by="store_id")  # type: ignore[arg-type]


def test_huge_ids_take_the_plain_sort_and_agree():
    # Ids this far apart cannot be packed into one Int64 key; the plain sort must agree.
    big = 2**62
    rows = [
        (big, D(2024, 1, 1), 1, big, 1),
        (big, D(2024, 1, 11), 1, big, 1),
        (1, D(2024, 1, 5), 1, 1, 1),
        (1, D(2024, 1, 25), 1, 1, 1),
    ]
    res = rows_by_key(cycles(lines_frame(rows), T), "category_id")
    assert (res[big]["median"], res[1]["median"]) == (10.0, 20.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([-(2**62), -3, 0, 1, 2, 2**40, 2**62]),
            st.integers(-5, 5),
            st.dates(D(1, 1, 1), D(9999, 12, 31)),
        ),
        max_size=20,
    )
)
def test_sort_packed_sorts_like_python(rows):
    frame = pl.DataFrame(rows, schema={"a": INT, "b": INT, "d": pl.Date}, orient="row")
    assert sort_packed(frame, ["a", "b", "d"]).rows() == sorted(rows)
    assert sort_packed(frame, ["b", "d"]).rows() == sorted((b, d) for _, b, d in rows)


# ---------------------------------------------------------------- reference implementation


def quartiles(gaps: list[int]) -> tuple[float, float, float]:
    if len(gaps) == 1:
        return (float(gaps[0]),) * 3  # type: ignore[return-value]
    q = statistics.quantiles(gaps, n=4, method="inclusive")
    return q[0], q[1], q[2]


def reference(rows, as_of, key_index):
    days = defaultdict(set)  # (customer, key) -> purchase dates
    for row in rows:
        c, d, qty, key = row[0], row[1], row[4], row[key_index]
        if d <= as_of and qty > 0 and key is not None:
            days[(c, key)].add(d)
    gaps = defaultdict(list)
    buyers = defaultdict(set)
    for (c, key), ds in days.items():
        ordered = sorted(ds)
        for a, b in pairwise(ordered):
            gaps[key].append((b - a).days)
            buyers[key].add(c)
    stats = {key: (len(g), len(buyers[key]), *quartiles(sorted(g))) for key, g in gaps.items()}
    due_now = set()
    for (c, key), ds in days.items():
        if key in stats:
            since = (as_of - max(ds)).days
            if stats[key][2] <= since <= stats[key][4]:
                due_now.add((c, key))
    return stats, due_now


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 5),
            st.integers(0, 90).map(lambda k: D(2024, 1, 15) + dt.timedelta(days=k)),
            st.integers(1, 4),
            st.one_of(st.none(), st.integers(1, 3)),
            st.sampled_from([0, 1, 1, 3]),
        ),
        max_size=40,
    ),
    as_of=st.integers(40, 100).map(lambda k: D(2024, 1, 15) + dt.timedelta(days=k)),
    by=st.sampled_from(["category_id", "product_id"]),
)
def test_matches_reference(rows, as_of, by):
    frame = lines_frame(rows)
    stats = cycles(frame, as_of, by=by)
    want_stats, want_due = reference(rows, as_of, 3 if by == "category_id" else 2)
    got = {
        r[by]: (r["count"], r["customers"], r["p25"], r["median"], r["p75"])
        for r in stats.iter_rows(named=True)
    }
    assert set(got) == set(want_stats)
    for key, want in want_stats.items():
        assert got[key] == pytest.approx(want, rel=1e-12)
    got_due = set(due(frame, stats, as_of, by=by).select("customer_id", by).iter_rows())
    assert got_due == want_due
