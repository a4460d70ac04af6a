"""Lifecycle stages pinned on hand-worked cases and against a plain-Python reference."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.frames import FrameError
from huitouke.analytics.lifecycle import STAGE_LABELS_ZH, lifecycle

D = dt.date
T = D(2024, 6, 30)

ORDER_COLS = ["customer_id", "order_id", "store_id", "order_date", "net_cents", "margin_cents"]
LINE_COLS = [
    "order_id",
    "customer_id",
    "order_date",
    "product_id",
    "category_id",
    "qty",
    "net_cents",
    "cost_cents",
]
INT = pl.Int64


def frames(
    orders: list[tuple[int, int, dt.date]],
    lines: list[tuple[int, int | None, int]] = (),  # type: ignore[assignment]
    customers: list[int] | None = None,
    cycles: dict[int, int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Frames from (customer, order id, date) orders and (order id, category, qty) lines."""
    order_frame = pl.DataFrame(
        [(c, o, 1, d, 100, 10) for c, o, d in orders],
        schema={
            "customer_id": INT,
            "order_id": INT,
            "store_id": INT,
            "order_date": pl.Date,
            "net_cents": INT,
            "margin_cents": INT,
        },
        orient="row",
    )
    by_id = {o: (c, d) for c, o, d in orders}
    line_rows = []
    for oid, cat, qty in lines:
        # Lines of orders absent from `orders` stand for refunded orders the loader dropped.
        cid, day = by_id.get(oid, (1, T))
        line_rows.append((oid, cid, day, 1, cat, qty, 100, 50))
    line_frame = pl.DataFrame(
        line_rows,
        schema={
            "order_id": INT,
            "customer_id": INT,
            "order_date": pl.Date,
            "product_id": INT,
            "category_id": INT,
            "qty": INT,
            "net_cents": INT,
            "cost_cents": INT,
        },
        orient="row",
    )
    ids = customers if customers is not None else sorted({c for c, _, _ in orders})
    customer_frame = pl.DataFrame(
        {"customer_id": ids, "store_id": [None] * len(ids), "owner_id": [None] * len(ids)},
        schema={"customer_id": INT, "store_id": INT, "owner_id": INT},
    )
    cyc = cycles or {}
    cycle_frame = pl.DataFrame(
        {"category_id": list(cyc), "cycle_days": list(cyc.values())},
        schema={"category_id": INT, "cycle_days": INT},
    )
    return customer_frame, order_frame, line_frame, cycle_frame


def run(orders, lines=(), customers=None, cycles=None, as_of=T, **kw) -> dict[int, dict]:
    cust, o, li, cyc = frames(orders, lines, customers, cycles)
    out = lifecycle(cust, o, li, cyc, as_of, **kw)
    return {row["customer_id"]: row for row in out.iter_rows(named=True)}


def test_stages_at_the_default_thresholds_on_the_exact_days():
    # T = 2024-06-30 (leap year). Days since, worked by hand:
    # 2024-04-01 -> 90, 2024-03-31 -> 91, 2024-01-02 -> 180, 2024-01-01 -> 181.
    res = run(
        [
            (1, 1, D(2024, 4, 1)),  # first = 90 <= S: new
            (2, 2, D(2024, 1, 1)),  # first 181, last 90: active
            (2, 3, D(2024, 4, 1)),
            (3, 4, D(2024, 3, 31)),  # first = last = 91: silent
            (4, 5, D(2024, 1, 2)),  # 180 = C: still silent
            (5, 6, D(2024, 1, 1)),  # 181 > C: churned
            (6, 7, T),  # an order on T is 0 days ago: new
        ],
        customers=[1, 2, 3, 4, 5, 6, 7],  # 7 has no order: potential
    )
    assert {c: r["stage"] for c, r in res.items()} == {
        1: "new",
        2: "active",
        3: "silent",
        4: "silent",
        5: "churned",
        6: "new",
        7: "potential",
    }
    assert (res[2]["days_since_last"], res[2]["days_since_first"]) == (90, 181)
    assert (res[6]["days_since_last"], res[6]["days_since_first"]) == (0, 0)
    assert res[7]["days_since_last"] is None
    assert res[7]["reactivated"] is False
    assert (res[1]["silent_after"], res[1]["churned_after"]) == (90, 180)
    assert res[1]["threshold_source"] == "org"


def test_orders_after_as_of_are_invisible():
    res = run([(1, 1, D(2024, 7, 1)), (2, 2, D(2024, 1, 1)), (2, 3, D(2024, 7, 1))])
    assert res[1]["stage"] == "potential"
    assert res[2]["stage"] == "churned"
    assert res[2]["days_since_last"] == 181


def test_reactivated_after_a_gap_longer_than_c():
    # 2023-06-01 -> 2024-06-01 is 366 days (Feb 2024 has 29); 2024-06-01 is 29 days before T.
    # 2023-12-04 -> 2024-06-01 is exactly 180 days: not longer than C.
    res = run(
        [
            (1, 1, D(2023, 6, 1)),
            (1, 2, D(2024, 6, 1)),
            (2, 3, D(2023, 12, 4)),
            (2, 4, D(2024, 6, 1)),
            # Same-day orders are one visit: the gap runs from the previous *date*.
            (3, 5, D(2023, 6, 1)),
            (3, 6, D(2024, 6, 1)),
            (3, 7, D(2024, 6, 1)),
            # Long gap but the last order is exactly S = 90 days ago: not "within the last S".
            (4, 8, D(2023, 1, 1)),
            (4, 9, D(2024, 4, 1)),
        ]
    )
    assert res[1]["reactivated"] is True
    assert res[1]["stage"] == "active"
    assert res[1]["gap_before_last_days"] == 366
    assert res[2]["reactivated"] is False
    assert res[2]["gap_before_last_days"] == 180
    assert res[3]["reactivated"] is True
    assert res[3]["previous_order_date"] == D(2023, 6, 1)
    assert res[4]["reactivated"] is False
    assert res[4]["stage"] == "active"
    assert res[4]["gap_before_last_days"] == 456


def test_the_gap_is_given_only_while_she_is_within_her_silent_threshold():
    # Last order 91 days before T (S = 90): silent, the gap before it is no longer reported.
    res = run([(1, 1, D(2023, 1, 1)), (1, 2, D(2024, 3, 31))])
    assert res[1]["stage"] == "silent"
    assert res[1]["gap_before_last_days"] is None
    assert res[1]["previous_order_date"] is None


def test_a_longer_category_cycle_stretches_her_thresholds():
    cycles = {7: 120, 8: 100, 9: 30}
    res = run(
        [
            (1, 1, D(2023, 1, 1)),
            (1, 2, D(2024, 3, 22)),  # 100 days ago; org S would call her silent
            (2, 3, D(2023, 1, 1)),
            (2, 4, D(2023, 12, 13)),  # 200 days ago; org C would call her churned
            (3, 5, D(2023, 12, 13)),  # cycle category on an earlier order only
            (3, 6, D(2024, 3, 22)),
            (4, 7, D(2024, 3, 22)),  # two orders on her last day: both count
            (4, 8, D(2024, 3, 22)),
            (4, 9, D(2023, 1, 1)),
        ],
        lines=[
            (2, 7, 1),
            (2, 8, 1),
            (4, 7, 1),
            (5, 7, 1),
            (6, None, 1),
            (7, 8, 1),
            (8, 7, 1),
            (99, 7, 1),  # an order the loader dropped (refunded): not counted
        ],
        cycles=cycles,
    )
    assert (res[1]["silent_after"], res[1]["churned_after"]) == (120, 240)
    assert res[1]["stage"] == "active"
    assert res[1]["threshold_source"] == "category"
    assert (res[1]["cycle_days"], res[1]["cycle_category_id"]) == (120, 7)
    assert res[2]["stage"] == "silent"
    assert (res[3]["silent_after"], res[3]["churned_after"], res[3]["stage"]) == (90, 180, "silent")
    assert (res[4]["silent_after"], res[4]["cycle_category_id"], res[4]["stage"]) == (
        120,
        7,
        "active",
    )


def test_a_shorter_cycle_applies_only_when_allowed():
    orders = [(1, 1, D(2023, 1, 1)), (1, 2, D(2024, 5, 1))]  # last order 60 days ago
    lines = [(2, 9, 1)]
    default = run(orders, lines, cycles={9: 30})
    assert (default[1]["silent_after"], default[1]["churned_after"]) == (90, 180)
    assert default[1]["stage"] == "active"
    # A cycle that cannot lengthen her thresholds sets nothing and is not reported.
    assert default[1]["cycle_days"] is None
    assert default[1]["threshold_source"] == "org"
    shorter = run(orders, lines, cycles={9: 30}, allow_shorter_cycles=True)
    assert (shorter[1]["silent_after"], shorter[1]["churned_after"]) == (30, 60)
    assert shorter[1]["stage"] == "silent"


def test_a_cycle_within_s_still_stretches_c_when_twice_it_is_longer():
    # S = 90, C = 150, cycle 80: S_i = max(90, 80) = 90, C_i = max(150, 160) = 160.
    # Last (and only) order 155 days before T: churned by the org's C, silent by hers.
    res = run(
        [(1, 1, D(2024, 1, 27))],
        lines=[(1, 9, 1)],
        cycles={9: 80},
        silent_after_days=90,
        churned_after_days=150,
    )
    assert (res[1]["silent_after"], res[1]["churned_after"]) == (90, 160)
    assert (res[1]["stage"], res[1]["threshold_source"], res[1]["cycle_days"]) == (
        "silent",
        "category",
        80,
    )


def test_refunded_lines_and_dropped_orders_do_not_set_the_cycle():
    orders = [(1, 1, D(2023, 1, 1)), (1, 2, D(2024, 3, 22))]
    res = run(orders, [(2, 7, 0), (2, None, 1)], cycles={7: 120})
    assert res[1]["silent_after"] == 90
    assert res[1]["stage"] == "silent"


def test_custom_org_thresholds_and_one_customer():
    res = run([(1, 1, D(2024, 6, 1))], silent_after_days=20, churned_after_days=25)
    assert res[1]["stage"] == "churned"  # 29 days > 25


def test_bad_input_is_refused_naming_the_column():
    cust, o, li, cyc = frames([(1, 1, T)])
    with pytest.raises(FrameError) as err:
        lifecycle(cust, o.drop("order_date"), li, cyc, T)
    assert err.value.column == "order_date"
    assert "order_date" in str(err.value)
    with pytest.raises(ValueError):
        lifecycle(cust, o, li, cyc, T, silent_after_days=100, churned_after_days=50)


def test_stage_labels_cover_every_stage():
    assert STAGE_LABELS_ZH == {
        "potential": "潜客",
        "new": "新客",
        "active": "老客",
        "silent": "沉默",
        "churned": "流失",
    }


# ---------------------------------------------------------------- reference implementation


def reference(customers, orders, lines, cycles, as_of, s_org, c_org, shorter):
    """Plain loops over dicts, straight from DESIGN §5."""
    counted = {oid: (cid, day) for cid, oid, day in orders if day <= as_of}
    dates = defaultdict(list)
    for cid, day in counted.values():
        dates[cid].append(day)
    out = {}
    for cid in customers:
        if not dates[cid]:
            out[cid] = ("potential", False, None, None, s_org, c_org)
            continue
        first, last = min(dates[cid]), max(dates[cid])
        cats = set()
        for oid, cat, qty in lines:
            if oid in counted and counted[oid] == (cid, last) and qty > 0 and cat is not None:
                cats.add(cat)
        configured = [cycles[c] for c in cats if c in cycles and cycles[c] > 0]
        s, c = s_org, c_org
        if configured:
            m = max(configured)
            s, c = (m, 2 * m) if shorter else (max(s_org, m), max(c_org, 2 * m))
        d, f = (as_of - last).days, (as_of - first).days
        if f <= s:
            stage = "new"
        elif d <= s:
            stage = "active"
        elif d <= c:
            stage = "silent"
        else:
            stage = "churned"
        earlier = [x for x in dates[cid] if x < last]
        reactivated = bool(earlier) and (last - max(earlier)).days > c and d < s
        out[cid] = (stage, reactivated, d, f, s, c)
    return out


AS_OFS = [D(2024, 2, 29), D(2024, 3, 1), D(2023, 3, 1), D(2024, 12, 31)]


@st.composite
def scenarios(draw):
    as_of = draw(st.sampled_from(AS_OFS))
    raw = draw(st.lists(st.tuples(st.integers(1, 6), st.integers(-3, 500)), max_size=25))
    orders = [(c, i + 1, as_of - dt.timedelta(days=back)) for i, (c, back) in enumerate(raw)]
    n_ids = len(orders) + 3  # ids beyond the orders are refunded orders the loader dropped
    lines = draw(
        st.lists(
            st.tuples(
                st.integers(1, n_ids),
                st.one_of(st.none(), st.integers(1, 4)),
                st.sampled_from([0, 1, 1, 2]),
            ),
            max_size=40,
        )
    )
    cycles = draw(st.dictionaries(st.integers(1, 4), st.integers(0, 250), max_size=4))
    s = draw(st.integers(0, 150))
    c = s + draw(st.integers(0, 200))
    return as_of, orders, lines, cycles, s, c, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_matches_reference(scenario):
    as_of, orders, lines, cycles, s, c, shorter = scenario
    customers = list(range(1, 8))
    res = run(
        orders,
        lines,
        customers=customers,
        cycles=cycles,
        as_of=as_of,
        silent_after_days=s,
        churned_after_days=c,
        allow_shorter_cycles=shorter,
    )
    expected = reference(customers, orders, lines, cycles, as_of, s, c, shorter)
    got = {
        cid: (
            r["stage"],
            r["reactivated"],
            r["days_since_last"],
            r["days_since_first"],
            r["silent_after"],
            r["churned_after"],
        )
        for cid, r in res.items()
    }
    assert got == expected
