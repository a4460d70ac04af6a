"""Basket pairs/triples and traffic vs profit items, by hand and against a reference."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.basket import basket, traffic_profit

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
DAY = D(2024, 3, 1)


def lines_frame(rows: list[tuple]) -> pl.DataFrame:
    """Lines from (order, customer, date, product, category, qty, net cents, cost cents)."""
    return pl.DataFrame(rows, schema=LINE_SCHEMA, orient="row")


def basket_lines(orders: Mapping[int, Sequence[int | None]], day: dt.date = DAY) -> pl.DataFrame:
    """One line per category listed for each order (product id = category id)."""
    return lines_frame(
        [(oid, oid, day, cat or 0, cat, 1, 100, 50) for oid, cats in orders.items() for cat in cats]
    )


A, B, C = 1, 2, 3
HAND: dict[int, list[int | None]] = {1: [A, B, C], 2: [A, B], 3: [A], 4: [B, C]}


def pair_rows(frame: pl.DataFrame) -> dict[tuple[int, int], dict]:
    return {(r["a"], r["b"]): r for r in frame.iter_rows(named=True)}


def test_pairs_worked_by_hand():
    res = basket(basket_lines(HAND), DAY, DAY, DAY, min_support=0.25)
    assert res.orders == 4
    pairs = pair_rows(res.pairs)
    # n = 4; A in 3 orders, B in 3, C in 2; AB together 2, AC 1, BC 2.
    assert set(pairs) == {(A, B), (A, C), (B, C)}
    assert pairs[(A, B)]["orders_together"] == 2
    assert pairs[(A, B)]["support"] == 0.5
    assert pairs[(A, B)]["confidence_ab"] == pytest.approx(2 / 3)
    assert pairs[(A, B)]["confidence_ba"] == pytest.approx(2 / 3)
    assert pairs[(A, B)]["lift"] == pytest.approx(0.5 / (0.75 * 0.75))
    assert pairs[(B, C)]["confidence_ab"] == pytest.approx(2 / 3)
    assert pairs[(B, C)]["confidence_ba"] == 1.0
    assert pairs[(B, C)]["lift"] == pytest.approx(0.5 / (0.75 * 0.5))
    assert (pairs[(A, C)]["support"], pairs[(A, C)]["confidence_ba"]) == (0.25, 0.5)
    assert res.triples is None


def test_triples_worked_by_hand():
    res = basket(basket_lines(HAND), DAY, DAY, DAY, min_support=0.25, triples=True)
    assert res.triples is not None
    (t,) = res.triples.iter_rows(named=True)
    assert (t["a"], t["b"], t["c"], t["orders_together"], t["support"]) == (A, B, C, 1, 0.25)
    # {A,B} -> C: 1/2, lift 0.5 / 0.5; {A,C} -> B: 1/1, lift 1 / 0.75; {B,C} -> A: 1/2, lift 0.5/0.75
    assert (t["confidence_ab_c"], t["lift_ab_c"]) == (0.5, 1.0)
    assert (t["confidence_ac_b"], t["lift_ac_b"]) == (1.0, pytest.approx(4 / 3))
    assert (t["confidence_bc_a"], t["lift_bc_a"]) == (0.5, pytest.approx(2 / 3))


def test_min_support_and_what_does_not_count():
    orders: dict[int, list[int | None]] = {
        **HAND,
        5: [None],  # an order with no categorised item is no basket
        6: [A, None],
    }
    lines = basket_lines(orders)
    extra = lines_frame(
        [
            (7, 7, DAY - dt.timedelta(days=1), 1, A, 1, 100, 50),  # before the window
            (7, 7, DAY - dt.timedelta(days=1), 2, B, 1, 100, 50),
            (8, 8, DAY, 3, C, 0, 0, 0),  # refunded line
            (8, 8, DAY, 1, A, 1, 100, 50),
        ]
    )
    res = basket(pl.concat([lines, extra]), DAY, DAY, DAY, min_support=0.3)
    # Baskets: orders 1-4, 6 and 8 -> n = 6. AB 2/6 >= 0.3 kept; BC 2/6 kept; AC 1/6 dropped.
    assert res.orders == 6
    assert set(pair_rows(res.pairs)) == {(A, B), (B, C)}
    assert pair_rows(res.pairs)[(A, B)]["confidence_ab"] == pytest.approx(2 / 5)
    # Nothing after as_of counts, even inside the window.
    assert basket(basket_lines(HAND), DAY - dt.timedelta(days=1), DAY, DAY).orders == 0


def test_products_instead_of_categories():
    lines = lines_frame(
        [(1, 1, DAY, 10, A, 1, 1, 0), (1, 1, DAY, 11, A, 1, 1, 0), (2, 2, DAY, 10, A, 1, 1, 0)]
    )
    by_product = basket(lines, DAY, DAY, DAY, by="product_id", min_support=0.5)
    assert by_product.pairs.select("a", "b", "orders_together", "lift").rows() == [(10, 11, 1, 1.0)]
    assert basket(lines, DAY, DAY, DAY, min_support=0.5).pairs.height == 0  # one category


def test_traffic_profit_quadrants_split_strictly_above_the_medians():
    rows = []
    oid = 0
    # product: (buyers, net per buyer, cost per buyer) -> margin rate
    spec = {1: (3, 100, 40), 2: (3, 100, 80), 3: (1, 100, 30), 4: (1, 100, 90), 5: (2, 100, 60)}
    for product, (buyers, net, cost) in spec.items():
        for buyer in range(buyers):
            oid += 1
            rows.append((oid, buyer + 1, DAY, product, None, 1, net, cost))
    rows.append((99, 1, DAY + dt.timedelta(days=1), 4, None, 1, 100, 0))  # after the period
    res = {
        r["product_id"]: r
        for r in traffic_profit(lines_frame(rows), DAY, DAY, DAY).iter_rows(named=True)
    }
    # buyers 3, 3, 1, 1, 2: median 2. Margin rates 0.6, 0.2, 0.7, 0.1, 0.4: median 0.4.
    assert {p: (r["buyers"], r["margin_rate"], r["quadrant"]) for p, r in res.items()} == {
        1: (3, pytest.approx(0.6), "star"),
        2: (3, pytest.approx(0.2), "traffic"),
        3: (1, pytest.approx(0.7), "profit"),
        4: (1, pytest.approx(0.1), "weak"),
        5: (2, pytest.approx(0.4), "weak"),
    }
    assert (res[1]["revenue_cents"], res[1]["margin_cents"]) == (300, 180)


def test_a_product_given_away_has_no_margin_rate():
    rows = [
        (1, 1, DAY, 1, None, 1, 0, 50),
        (2, 2, DAY, 1, None, 1, 0, 50),
        (3, 1, DAY, 2, None, 1, 100, 10),
    ]
    res = {
        r["product_id"]: r
        for r in traffic_profit(lines_frame(rows), DAY, DAY, DAY).iter_rows(named=True)
    }
    assert res[1]["margin_rate"] is None
    assert res[1]["quadrant"] == "traffic"  # 2 buyers > median 1.5, no margin rate = low
    assert res[2]["quadrant"] == "weak"  # the only rate is the median itself


# ---------------------------------------------------------------- reference implementation


def ref_basket(rows, as_of, start, end, key_index, min_support):
    baskets = defaultdict(set)
    for row in rows:
        d, qty, key = row[2], row[5], row[key_index]
        if start <= d <= end and d <= as_of and qty > 0 and key is not None:
            baskets[row[0]].add(key)
    n = len(baskets)
    count: defaultdict[tuple[int, ...], int] = defaultdict(int)
    for items in baskets.values():
        for size in (1, 2, 3):
            for combo in combinations(sorted(items), size):
                count[combo] += 1
    pairs, triples = {}, {}
    for combo, together in count.items():
        if together / n < min_support:
            continue
        if len(combo) == 2:
            a, b = combo
            pairs[combo] = (
                together,
                together / n,
                together / count[(a,)],
                together / count[(b,)],
                (together / n) / ((count[(a,)] / n) * (count[(b,)] / n)),
            )
        elif len(combo) == 3:
            a, b, c = combo
            triples[combo] = (
                together,
                together / count[(a, b)],
                (together / count[(a, b)]) / (count[(c,)] / n),
                together / count[(b, c)],
            )
    return n, pairs, triples


def assert_close(got: dict[tuple, tuple], want: dict[tuple, tuple]) -> None:
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key] == pytest.approx(values, rel=1e-12), key


line_rows = st.lists(
    st.tuples(
        st.integers(1, 12),  # order
        st.integers(1, 6),  # customer
        st.integers(0, 6).map(lambda k: DAY + dt.timedelta(days=k)),
        st.integers(1, 6),  # product
        st.one_of(st.none(), st.integers(1, 4)),  # category
        st.sampled_from([0, 1, 1, 2]),
        st.integers(0, 100),
        st.integers(0, 100),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=line_rows,
    as_of=st.integers(0, 8).map(lambda k: DAY + dt.timedelta(days=k)),
    start_end=st.tuples(st.integers(0, 3), st.integers(0, 4)),
    by=st.sampled_from(["category_id", "product_id"]),
    min_support=st.sampled_from([0.01, 0.1, 0.2, 0.25, 0.5]),
)
def test_basket_matches_reference(rows, as_of, start_end, by, min_support):
    start = DAY + dt.timedelta(days=start_end[0])
    end = start + dt.timedelta(days=start_end[1])
    res = basket(lines_frame(rows), as_of, start, end, by=by, min_support=min_support, triples=True)
    n, pairs, triples = ref_basket(
        rows, as_of, start, end, 4 if by == "category_id" else 3, min_support
    )
    assert res.orders == n
    got_pairs = {
        (r["a"], r["b"]): (
            r["orders_together"],
            r["support"],
            r["confidence_ab"],
            r["confidence_ba"],
            r["lift"],
        )
        for r in res.pairs.iter_rows(named=True)
    }
    assert_close(got_pairs, pairs)
    assert res.triples is not None
    got_triples = {
        (r["a"], r["b"], r["c"]): (
            r["orders_together"],
            r["confidence_ab_c"],
            r["lift_ab_c"],
            r["confidence_bc_a"],
        )
        for r in res.triples.iter_rows(named=True)
    }
    assert_close(got_triples, triples)


def ref_traffic_profit(rows, as_of, start, end):
    buyers: defaultdict[int, set[int]] = defaultdict(set)
    net: defaultdict[int, int] = defaultdict(int)
    cost: defaultdict[int, int] = defaultdict(int)
    for oid, c, d, p, _cat, qty, n, k in rows:
        del oid
        if start <= d <= min(end, as_of) and qty > 0:
            buyers[p].add(c)
            net[p] += n
            cost[p] += k
    rates = {p: (net[p] - cost[p]) / net[p] if net[p] > 0 else None for p in buyers}
    if not buyers:
        return {}
    buyers_median = statistics.median(len(b) for b in buyers.values())
    known = [r for r in rates.values() if r is not None]
    rate_median = statistics.median(known) if known else None
    out = {}
    for p in buyers:
        many = len(buyers[p]) > buyers_median
        rate = rates[p]
        rich = rate is not None and rate_median is not None and rate > rate_median
        quadrant = {(True, True): "star", (True, False): "traffic", (False, True): "profit"}.get(
            (many, rich), "weak"
        )
        out[p] = (len(buyers[p]), net[p], net[p] - cost[p], quadrant)
    return out


@settings(max_examples=50, deadline=None)
@given(rows=line_rows, as_of=st.integers(0, 8).map(lambda k: DAY + dt.timedelta(days=k)))
def test_traffic_profit_matches_reference(rows, as_of):
    start, end = DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=5)
    got = {
        r["product_id"]: (r["buyers"], r["revenue_cents"], r["margin_cents"], r["quadrant"])
        for r in traffic_profit(lines_frame(rows), as_of, start, end).iter_rows(named=True)
    }
    assert got == ref_traffic_profit(rows, as_of, start, end)
