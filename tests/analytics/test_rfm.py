"""RFM scores, segments and value classes on hand-worked cases and against a reference."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics.frames import FrameError
from huitouke.analytics.rfm import (
    SEGMENT_LABELS_EN,
    SEGMENT_LABELS_ZH,
    SEGMENT_VALUE_CLASS,
    _mid_rank_score,
    rfm,
    value_class,
)

D = dt.date
T = D(2024, 12, 31)
INT = pl.Int64
ORDER_SCHEMA = {
    "customer_id": INT,
    "order_id": INT,
    "store_id": INT,
    "order_date": pl.Date,
    "net_cents": INT,
    "margin_cents": INT,
}


def orders_frame(rows: list[tuple[int, int, int]], as_of: dt.date = T) -> pl.DataFrame:
    """Orders from (customer, days before as_of, net cents); negative days are after as_of."""
    return pl.DataFrame(
        [
            (c, i + 1, 1, as_of - dt.timedelta(days=back), net, 0)
            for i, (c, back, net) in enumerate(rows)
        ],
        schema=ORDER_SCHEMA,
        orient="row",
    )


def customers_frame(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": ids, "store_id": [None] * len(ids), "owner_id": [None] * len(ids)},
        schema={"customer_id": INT, "store_id": INT, "owner_id": INT},
    )


def by_customer(frame: pl.DataFrame) -> dict[int, dict]:
    return {r["customer_id"]: r for r in frame.iter_rows(named=True)}


TIED = [
    (1, 10, 500),
    (1, 40, 300),  # c1: R 10, F 2, M 800
    (2, 10, 800),  # c2: R 10, F 1, M 800
    (3, 100, 200),  # c3: R 100, F 1, M 200
    (4, 364, 50),  # c4: last day inside the 365-day lookback
    (5, 365, 999),  # c5: 365 days ago is outside "the last 365 days": not scored
    (6, -1, 999),  # c6: after T, invisible
    (4, -3, 999),
]


def test_ties_share_scores_worked_by_hand():
    res = by_customer(rfm(orders_frame(TIED), T))
    assert set(res) == {1, 2, 3, 4}
    assert [
        (res[c]["recency_days"], res[c]["frequency"], res[c]["monetary_cents"])
        for c in (1, 2, 3, 4)
    ] == [(10, 2, 800), (10, 1, 800), (100, 1, 200), (364, 1, 50)]
    # n = 4. R (fewer days better): c1, c2 tie: worse 2, equal 2 -> p 3/4 -> floor(3.75)+1 = 4;
    # c3: (1 + 0.5)/4 = 0.375 -> 2; c4: 0.5/4 -> 1.
    # F: c1 (3 + 0.5)/4 = 0.875 -> 5; the three 1s: 1.5/4 = 0.375 -> 2.
    # M: c1, c2: (2 + 1)/4 -> 4; c3 1.5/4 -> 2; c4 0.5/4 -> 1.
    assert [(res[c]["r_score"], res[c]["f_score"], res[c]["m_score"]) for c in (1, 2, 3, 4)] == [
        (4, 5, 4),
        (4, 2, 4),
        (2, 2, 2),
        (1, 2, 1),
    ]
    # Means: R 484/4 = 121, F 5/4, M 1850/4 = 462.5.
    assert [(res[c]["r_high"], res[c]["f_high"], res[c]["m_high"]) for c in (1, 2, 3, 4)] == [
        (True, True, True),
        (True, False, True),
        (True, False, False),
        (False, False, False),
    ]
    assert [res[c]["segment"] for c in (1, 2, 3, 4)] == [
        "champions",
        "promising_big_spenders",
        "new_promising",
        "lost",
    ]
    assert [res[c]["value_class"] for c in (1, 2, 3, 4)] == ["A", "A", "C", "C"]


def test_score_rule_for_high_low():
    res = by_customer(rfm(orders_frame(TIED), T, high_low="score"))
    assert [res[c]["segment"] for c in (1, 2, 3, 4)] == [
        "champions",  # 4 5 4
        "promising_big_spenders",  # 4 2 4
        "lost",  # 2 2 2
        "lost",  # 1 2 1
    ]


def test_ten_distinct_values_spread_over_five_scores():
    # p = (i - 0.5)/10 for the i-th smallest: 0.05, 0.15, ..., 0.95 -> two per score.
    rows = [(c, 0, 100 * c) for c in range(1, 11)]
    res = by_customer(rfm(orders_frame(rows), T))
    assert [res[c]["m_score"] for c in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert {res[c]["r_score"] for c in res} == {3}  # all tied at 0 days


def test_one_customer_scores_three_and_is_not_above_her_own_mean():
    res = by_customer(rfm(orders_frame([(1, 0, 100)]), T))
    assert (res[1]["r_score"], res[1]["f_score"], res[1]["m_score"]) == (3, 3, 3)
    assert res[1]["segment"] == "lost"
    assert (
        by_customer(rfm(orders_frame([(1, 0, 100)]), T, high_low="score"))[1]["segment"]
        == "champions"
    )


def test_lookback_is_configurable_and_no_orders_gives_an_empty_frame():
    res = by_customer(rfm(orders_frame(TIED), T, lookback_days=11))
    assert set(res) == {1, 2}
    assert res[1]["frequency"] == 1  # the order 40 days ago is outside
    assert rfm(orders_frame([]), T).height == 0


def test_leap_day_counts_as_a_day():
    # From 2024-02-28 to 2024-03-01 is 2 days in a leap year.
    frame = pl.DataFrame([(1, 1, 1, D(2024, 2, 28), 10, 0)], schema=ORDER_SCHEMA, orient="row")
    assert rfm(frame, D(2024, 3, 1))["recency_days"].to_list() == [2]


def test_value_class_gives_d_to_potential_and_c_to_unscored_buyers():
    orders = orders_frame(TIED)
    scored = rfm(orders, T)
    classes = dict(
        value_class(customers_frame([1, 2, 3, 4, 5, 6, 7]), orders, scored, T).iter_rows()
    )
    # 5 bought 365 days ago (unscored buyer); 6 only after T and 7 never: potential.
    assert classes == {1: "A", 2: "A", 3: "C", 4: "C", 5: "C", 6: "D", 7: "D"}


def test_segment_tables_follow_the_design():
    by_zh = {SEGMENT_LABELS_ZH[code]: cls for code, cls in SEGMENT_VALUE_CLASS.items()}
    assert by_zh == {
        "重要价值客户": "A",
        "重要发展客户": "A",
        "重要保持客户": "B",
        "重要挽留客户": "B",
        "一般价值客户": "B",
        "一般发展客户": "C",
        "一般保持客户": "C",
        "一般挽留客户": "C",
    }
    assert SEGMENT_LABELS_EN["loyal_slipping"] == "loyal, slipping"
    assert set(SEGMENT_LABELS_EN) == set(SEGMENT_LABELS_ZH)


def test_missing_column_is_named():
    with pytest.raises(FrameError, match="net_cents") as err:
        rfm(orders_frame(TIED).drop("net_cents"), T)
    assert (err.value.code, err.value.column) == ("missing_column", "net_cents")
    with pytest.raises(ValueError):
        rfm(orders_frame(TIED), T, high_low="median")  # type: ignore[arg-type]


# ---------------------------------------------------------------- reference implementation

SEGMENT_BY_HIGHS = {
    (True, True, True): "champions",
    (True, False, True): "promising_big_spenders",
    (False, True, True): "loyal_slipping",
    (False, False, True): "big_spenders_at_risk",
    (True, True, False): "loyal_low_spenders",
    (True, False, False): "new_promising",
    (False, True, False): "regulars_fading",
    (False, False, False): "lost",
}


def ref_scores(values: dict[int, int], lower_is_better: bool) -> dict[int, int]:
    n = len(values)
    out = {}
    for c, v in values.items():
        if lower_is_better:
            worse = sum(1 for w in values.values() if w > v)
        else:
            worse = sum(1 for w in values.values() if w < v)
        equal = sum(1 for w in values.values() if w == v)
        p = (Fraction(worse) + Fraction(equal, 2)) / n
        out[c] = min(5, math.floor(5 * p) + 1)
    return out


def reference(rows, as_of, lookback, rule):
    last: dict[int, int] = {}
    freq: defaultdict[int, int] = defaultdict(int)
    money: defaultdict[int, int] = defaultdict(int)
    for c, back, net in rows:
        day = as_of - dt.timedelta(days=back)
        days = (as_of - day).days
        if day > as_of or days >= lookback:
            continue
        last[c] = min(last.get(c, days), days)
        freq[c] += 1
        money[c] += net
    if not last:
        return {}
    scores = {
        "r": ref_scores(last, True),
        "f": ref_scores(dict(freq), False),
        "m": ref_scores(dict(money), False),
    }
    means = {
        "r": Fraction(sum(last.values()), len(last)),
        "f": Fraction(sum(freq.values()), len(last)),
        "m": Fraction(sum(money.values()), len(last)),
    }
    out = {}
    for c in last:
        highs: tuple[bool, bool, bool]
        if rule == "mean":
            highs = (last[c] < means["r"], freq[c] > means["f"], money[c] > means["m"])
        else:
            highs = (scores["r"][c] >= 3, scores["f"][c] >= 3, scores["m"][c] >= 3)
        seg = SEGMENT_BY_HIGHS[highs]
        out[c] = (
            last[c],
            freq[c],
            money[c],
            scores["r"][c],
            scores["f"][c],
            scores["m"][c],
            seg,
        )
    return out


@settings(max_examples=60, deadline=None)
@given(
    as_of=st.sampled_from([D(2024, 2, 29), D(2024, 3, 1), D(2023, 3, 1), T]),
    rows=st.lists(
        st.tuples(st.integers(1, 8), st.integers(-3, 60), st.integers(0, 50)), max_size=30
    ),
    lookback=st.sampled_from([1, 7, 30, 365]),
    rule=st.sampled_from(["mean", "score"]),
)
def test_matches_reference(as_of, rows, lookback, rule):
    # Small ranges of days and money make ties frequent, which is where scoring goes wrong.
    orders = orders_frame(rows, as_of)
    scored = rfm(orders, as_of, lookback, rule)
    got = {
        c: (
            r["recency_days"],
            r["frequency"],
            r["monetary_cents"],
            r["r_score"],
            r["f_score"],
            r["m_score"],
            r["segment"],
        )
        for c, r in by_customer(scored).items()
    }
    expected = reference(rows, as_of, lookback, rule)
    assert got == expected

    classes = dict(
        value_class(customers_frame(list(range(1, 10))), orders, scored, as_of).iter_rows()
    )
    class_of_segment = {
        "champions": "A",
        "promising_big_spenders": "A",
        "loyal_slipping": "B",
        "big_spenders_at_risk": "B",
        "loyal_low_spenders": "B",
    }
    buyers = {c for c, back, _ in rows if back >= 0}
    expected_classes = {
        c: class_of_segment.get(expected[c][6], "C")
        if c in expected
        else ("C" if c in buyers else "D")
        for c in range(1, 10)
    }
    assert classes == expected_classes


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=40),
    narrow=st.booleans(),
    lower_is_better=st.booleans(),
)
def test_mid_rank_scores_match_the_reference_for_narrow_and_wide_ranges(
    values, narrow, lower_is_better
):
    # Narrow: fewer distinct whole numbers than rows (counted); wide: sorted.
    if narrow:
        values = [v % 3 for v in values]
    got = _mid_rank_score(pl.Series("v", values, INT), lower_is_better=lower_is_better)
    expected = ref_scores(dict(enumerate(values)), lower_is_better)
    assert got.dtype == INT
    assert got.to_list() == [expected[i] for i in range(len(values))]
