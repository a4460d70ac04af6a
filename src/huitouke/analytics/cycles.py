"""Repurchase cycles (回购周期) per category or product, and who is due now (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from huitouke.analytics.frames import (
    CATEGORY_CYCLES,
    LINES,
    bought_lines,
    days_since,
    sort_packed,
    validate,
)

__all__ = ["configured_windows", "cycles", "due"]

Key = Literal["category_id", "product_id"]


def _check_key(by: str) -> None:
    if by not in ("category_id", "product_id"):
        raise ValueError(f"by must be 'category_id' or 'product_id', got {by!r}")


def _purchase_runs(lines: pl.DataFrame, as_of: dt.date, by: Key) -> pl.DataFrame:
    """Keyed purchases up to as_of sorted by customer, key and date, with gap and run ends."""
    _check_key(by)
    lines = bought_lines(validate(lines, LINES), as_of).filter(pl.col(by).is_not_null())
    days = sort_packed(lines, ["customer_id", by, "order_date"])
    cust, key, day = pl.col("customer_id"), pl.col(by), pl.col("order_date")
    # On the sorted frame a row's neighbour is the same customer's purchase of the same key
    # exactly when customer and key match: global shifts replace a per-group window.
    same_as_prev = ((cust == cust.shift(1)) & (key == key.shift(1))).fill_null(False)
    same_as_next = ((cust == cust.shift(-1)) & (key == key.shift(-1))).fill_null(False)
    return days.with_columns(
        gap_days=pl.when(same_as_prev).then((day - day.shift(1)).dt.total_days()),
        is_last=~same_as_next,
    )


def cycles(lines: pl.DataFrame, as_of: dt.date, by: Key = "category_id") -> pl.DataFrame:
    """Count, customers, p25, median and p75 of the gaps between repeat purchases, per key.

    Quantiles interpolate linearly between order statistics (NumPy's default, Excel's
    PERCENTILE.INC). Keys bought at most once per customer have no gaps and no row.
    """
    # A zero gap is a second purchase on the same day: dropping it merges the two.
    gaps = _purchase_runs(lines, as_of, by).filter(pl.col("gap_days") > 0)
    g = pl.col("gap_days")
    return (
        gaps.group_by(by)
        .agg(
            count=pl.len().cast(pl.Int64),
            customers=pl.col("customer_id").n_unique().cast(pl.Int64),
            p25=g.quantile(0.25, interpolation="linear"),
            median=g.quantile(0.5, interpolation="linear"),
            p75=g.quantile(0.75, interpolation="linear"),
        )
        .sort(by)
    )


def configured_windows(category_cycles: pl.DataFrame, spread: float = 0.25) -> pl.DataFrame:
    """Due windows [floor(c·(1-spread)), ceil(c·(1+spread))] around configured cycles c."""
    if not 0 <= spread < 1:
        raise ValueError(f"spread must be in [0, 1), got {spread}")
    cycles_ = validate(category_cycles, CATEGORY_CYCLES).filter(pl.col("cycle_days") > 0)
    c = pl.col("cycle_days")
    # Rounding first keeps float noise (10 * 1.1 = 11.000000000000002) from moving an edge.
    return cycles_.select(
        "category_id",
        due_from_days=(c * (1 - spread)).round(9).floor().cast(pl.Int64),
        due_to_days=(c * (1 + spread)).round(9).ceil().cast(pl.Int64),
    )


def due(
    lines: pl.DataFrame,
    cycle_stats: pl.DataFrame,
    as_of: dt.date,
    windows: pl.DataFrame | None = None,
    by: Key = "category_id",
    min_count: int = 1,
) -> pl.DataFrame:
    """Customers whose days since their last purchase of a key fall in its due window.

    The window is [p25, p75] of the learned gaps (`cycles` output, keys with at least
    `min_count` gaps), replaced by a configured window (`by`, due_from_days, due_to_days)
    where one is given. Both ends are included.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    learned = cycle_stats.filter(pl.col("count") >= min_count).select(
        by,
        due_from_days=pl.col("p25").cast(pl.Float64),
        due_to_days=pl.col("p75").cast(pl.Float64),
        window_source=pl.lit("learned"),
    )
    if windows is not None:
        configured = windows.select(
            pl.col(by).cast(pl.Int64),
            pl.col("due_from_days").cast(pl.Float64),
            pl.col("due_to_days").cast(pl.Float64),
            window_source=pl.lit("configured"),
        )
        learned = pl.concat(
            [configured, learned.join(configured, on=by, how="anti")], how="vertical"
        )
    last = (
        _purchase_runs(lines, as_of, by)
        .filter(pl.col("is_last"))
        .select(
            "customer_id",
            by,
            last_purchase_date="order_date",
            days_since_last=days_since("order_date", as_of),
        )
    )
    d = pl.col("days_since_last")
    return (
        last.join(learned, on=by, how="inner")
        .filter((d >= pl.col("due_from_days")) & (d <= pl.col("due_to_days")))
        .select(
            "customer_id",
            by,
            "days_since_last",
            "last_purchase_date",
            "due_from_days",
            "due_to_days",
            "window_source",
        )
        .sort("customer_id", by)
    )
