"""RFM values, 1-5 scores, the eight segments and value classes A/B/C/D (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import polars as pl

from huitouke.analytics.frames import CUSTOMERS, ORDERS, FrameSchema, days_since, up_to, validate

__all__ = [
    "SEGMENTS",
    "SEGMENT_LABELS_EN",
    "SEGMENT_LABELS_ZH",
    "SEGMENT_VALUE_CLASS",
    "rfm",
    "score",
    "segment_of",
    "value_class",
    "value_class_of_buyers",
]

# RFM reads only these columns of the orders frame, so a frame of just the look-back window's
# (customer, date, money) rows will do.
RFM_ORDERS = FrameSchema(
    "orders",
    {name: ORDERS.columns[name] for name in ("customer_id", "order_date", "net_cents")},
)

# Segment code by (R high, F high, M high), in DESIGN's table order.
SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "champions",
    (True, False, True): "promising_big_spenders",
    (False, True, True): "loyal_slipping",
    (False, False, True): "big_spenders_at_risk",
    (True, True, False): "loyal_low_spenders",
    (True, False, False): "new_promising",
    (False, True, False): "regulars_fading",
    (False, False, False): "lost",
}
SEGMENT_LABELS_ZH = {
    "champions": "重要价值客户",
    "promising_big_spenders": "重要发展客户",
    "loyal_slipping": "重要保持客户",
    "big_spenders_at_risk": "重要挽留客户",
    "loyal_low_spenders": "一般价值客户",
    "new_promising": "一般发展客户",
    "regulars_fading": "一般保持客户",
    "lost": "一般挽留客户",
}
SEGMENT_LABELS_EN = {
    "champions": "champions",
    "promising_big_spenders": "promising big spenders",
    "loyal_slipping": "loyal, slipping",
    "big_spenders_at_risk": "big spenders at risk",
    "loyal_low_spenders": "loyal low spenders",
    "new_promising": "new / promising",
    "regulars_fading": "regulars fading",
    "lost": "lost",
}
SEGMENT_VALUE_CLASS = {
    "champions": "A",
    "promising_big_spenders": "A",
    "loyal_slipping": "B",
    "big_spenders_at_risk": "B",
    "loyal_low_spenders": "B",
    "new_promising": "C",
    "regulars_fading": "C",
    "lost": "C",
}


def segment_of(r_high: bool, f_high: bool, m_high: bool) -> str:
    """Segment code for one high/low pattern."""
    return SEGMENTS[(r_high, f_high, m_high)]


def _mid_rank_score(values: pl.Series, *, lower_is_better: bool = False) -> pl.Series:
    """Score 1-5 from the mid-rank percentile p = (worse + 0.5 * equal) / n.

    With lo = 1 + the count strictly worse and hi = the count worse or equal (herself
    included), worse + equal/2 = (lo + hi - 1) / 2; integer floor keeps ties exact. In
    ascending order each run of equal values fills positions [start, end), so lo + hi - 1 is
    start + end (2n - start - end when lower is better): one sort (or, for a narrow range of
    whole numbers, one count of each value) gives both ranks of every row.
    """
    if values.null_count():
        raise ValueError(f"{values.name} has missing values")
    v = values.to_numpy()
    n = len(v)
    if n == 0:
        return pl.Series(values.name, [], pl.Int64)
    low = v.min()
    if np.issubdtype(v.dtype, np.integer) and int(v.max()) - int(low) < n:
        counts = np.bincount(v - low)
        ends = np.cumsum(counts)
        end = ends[v - low]
        twice = 2 * end - counts[v - low]  # start + end, start = end - count
    else:
        order = np.argsort(v)
        ordered = v[order]
        new_run = np.empty(n, dtype=bool)
        new_run[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
        starts = np.flatnonzero(new_run)
        run = np.cumsum(new_run) - 1
        twice = np.empty(n, dtype=np.int64)
        twice[order] = starts[run] + np.append(starts[1:], n)[run]
    if lower_is_better:
        twice = 2 * n - twice
    return pl.Series(values.name, np.minimum(5 * twice // (2 * n) + 1, 5).astype(np.int64))


def _above_mean(column: str, *, lower_is_better: bool = False) -> pl.Expr:
    """Strictly better than the population mean, compared exactly as value * n vs sum."""
    col = pl.col(column)
    n, total = pl.len().cast(pl.Int64), col.sum()
    return (col * n < total) if lower_is_better else (col * n > total)


def rfm(
    orders: pl.DataFrame,
    as_of: dt.date,
    lookback_days: int = 365,
    high_low: Literal["mean", "score"] = "mean",
) -> pl.DataFrame:
    """RFM values, scores, highs, segment and value class for customers active in the lookback."""
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be at least 1, got {lookback_days}")
    orders = validate(orders, RFM_ORDERS)
    window = up_to(orders, as_of).filter(days_since("order_date", as_of) < lookback_days)
    values = window.group_by("customer_id").agg(
        recency_days=days_since("order_date", as_of).min(),
        frequency=pl.len().cast(pl.Int64),
        monetary_cents=pl.col("net_cents").sum(),
    )
    return score(values, high_low)


def score(values: pl.DataFrame, high_low: Literal["mean", "score"] = "mean") -> pl.DataFrame:
    """Scores, highs, segment and value class from one row of RFM values per scored customer.

    `values`: customer_id, recency_days, frequency, monetary_cents of the customers with an
    order in the look-back (what `rfm` computes from the orders).
    """
    if high_low not in ("mean", "score"):
        raise ValueError(f"high_low must be 'mean' or 'score', got {high_low!r}")
    scored = values.select(
        "customer_id", "recency_days", "frequency", "monetary_cents"
    ).with_columns(
        r_score=_mid_rank_score(values["recency_days"], lower_is_better=True),
        f_score=_mid_rank_score(values["frequency"]),
        m_score=_mid_rank_score(values["monetary_cents"]),
    )
    if high_low == "mean":
        highs = {
            "r_high": _above_mean("recency_days", lower_is_better=True),
            "f_high": _above_mean("frequency"),
            "m_high": _above_mean("monetary_cents"),
        }
    else:
        highs = {f"{d}_high": pl.col(f"{d}_score") >= 3 for d in "rfm"}
    scored = scored.with_columns(**highs)
    segment = pl.lit(None, pl.String)
    for (r, f, m), code in SEGMENTS.items():
        hit = (pl.col("r_high") == r) & (pl.col("f_high") == f) & (pl.col("m_high") == m)
        segment = pl.when(hit).then(pl.lit(code)).otherwise(segment)
    return (
        scored.with_columns(segment=segment)
        .with_columns(value_class=pl.col("segment").replace_strict(SEGMENT_VALUE_CLASS))
        .sort("customer_id")
    )


def value_class(
    customers: pl.DataFrame, orders: pl.DataFrame, scored: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """A/B/C from the RFM segment, D for potential customers, one row per customer."""
    customers = validate(customers, CUSTOMERS)
    buyers = up_to(validate(orders, RFM_ORDERS), as_of).select("customer_id").unique()
    return value_class_of_buyers(customers.select("customer_id"), buyers, scored)


def value_class_of_buyers(
    customers: pl.DataFrame, buyers: pl.DataFrame, scored: pl.DataFrame
) -> pl.DataFrame:
    """value_class for each customer_id of `customers`, given who bought on or before T.

    `buyers` holds the distinct customer_id of everyone with a counted order up to T and
    `scored` is `rfm`'s result.
    """
    return (
        customers.select("customer_id")
        .join(scored.select("customer_id", "value_class"), on="customer_id", how="left")
        .join(buyers.with_columns(has_orders=pl.lit(True)), on="customer_id", how="left")
        .select(
            "customer_id",
            # A buyer with no order inside the RFM lookback is unscored; she is treated as
            # the lowest scored segment (一般挽留, class C) rather than as a potential one.
            value_class=pl.when(pl.col("value_class").is_not_null())
            .then(pl.col("value_class"))
            .when(pl.col("has_orders").is_not_null())
            .then(pl.lit("C"))
            .otherwise(pl.lit("D")),
        )
        .sort("customer_id")
    )
