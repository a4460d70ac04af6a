"""Lifecycle stage (客户生命周期) of every customer as of a date T (DESIGN §5)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from huitouke.analytics.frames import (
    CATEGORY_CYCLES,
    CUSTOMERS,
    LINES,
    ORDERS,
    bought_lines,
    days_since,
    sort_packed,
    up_to,
    validate,
)

__all__ = [
    "STAGES",
    "STAGE_LABELS_EN",
    "STAGE_LABELS_ZH",
    "check_thresholds",
    "lifecycle",
    "relevant_cycles",
    "stages",
]

STAGES = ("potential", "new", "active", "silent", "churned")
STAGE_LABELS_ZH = {
    "potential": "潜客",
    "new": "新客",
    "active": "老客",
    "silent": "沉默",
    "churned": "流失",
}
STAGE_LABELS_EN = {
    "potential": "potential",
    "new": "new",
    "active": "active",
    "silent": "silent",
    "churned": "churned",
}


def _order_dates(orders: pl.DataFrame) -> pl.DataFrame:
    """Per customer with orders: first, last and previous distinct order date."""
    cust, day = pl.col("customer_id"), pl.col("order_date")
    # Sorted (customer, date) pairs; neighbours then answer everything without a group-by.
    visits = sort_packed(orders, ["customer_id", "order_date"])
    visits = visits.filter(~((cust == cust.shift(1)) & (day == day.shift(1))).fill_null(False))
    starts = (cust != cust.shift(1)).fill_null(True)
    return (
        visits.with_columns(
            first_order_date=pl.when(starts).then(day).forward_fill(),
            # Same-day orders were merged above, so the row before is the previous visit.
            previous_order_date=pl.when(~starts).then(day.shift(1)),
            ends=(cust != cust.shift(-1)).fill_null(True),
        )
        .filter(pl.col("ends"))
        .select(
            "customer_id", "first_order_date", "previous_order_date", last_order_date="order_date"
        )
    )


def _last_day_cycles(
    orders: pl.DataFrame, lines: pl.DataFrame, cycles: pl.DataFrame, dates: pl.DataFrame
) -> pl.DataFrame:
    """Per customer, the largest configured cycle among the categories of her last order day."""
    # "Her last order" is every counted order on her last order date: a customer who pays
    # twice at the counter on one day made one visit.
    last_orders = orders.join(
        dates.select("customer_id", order_date="last_order_date"),
        on=["customer_id", "order_date"],
        how="semi",
    ).select("order_id")
    # Going through order ids keeps out lines of orders the loader did not count.
    return (
        lines.join(last_orders, on="order_id", how="semi")
        .join(cycles.filter(pl.col("cycle_days") > 0), on="category_id", how="inner")
        .group_by("customer_id")
        .agg(
            cycle_days=pl.col("cycle_days").max(),
            cycle_category_id=pl.col("category_id")
            .sort_by(["cycle_days", "category_id"], descending=[True, False])
            .first(),
        )
    )


def relevant_cycles(
    category_cycles: pl.DataFrame,
    silent_after_days: int,
    churned_after_days: int,
    *,
    allow_shorter_cycles: bool = False,
) -> pl.DataFrame:
    """The configured cycles that can set a customer's thresholds.

    By default a category cycle m only lengthens the org thresholds (S_i = max(S, m),
    C_i = max(C, 2m)), so a cycle with m <= S and 2m <= C changes nothing and is left out.
    """
    cycle = pl.col("cycle_days")
    cycles = category_cycles.filter(cycle > 0)
    if allow_shorter_cycles:
        return cycles
    return cycles.filter((cycle > silent_after_days) | (2 * cycle > churned_after_days))


def stages(
    dates: pl.DataFrame,
    cycles: pl.DataFrame,
    as_of: dt.date,
    silent_after_days: int,
    churned_after_days: int,
    *,
    allow_shorter_cycles: bool = False,
) -> pl.DataFrame:
    """Stage, reactivated flag and the figures behind them from each customer's order dates.

    `dates`: customer_id (every customer) with first_order_date, last_order_date and
    previous_order_date (the distinct order date before the last; null when unknown), all
    on or before as_of. `cycles`: customer_id, cycle_days, cycle_category_id for customers
    whose last order date bought a category of `relevant_cycles`.
    """
    s_org, c_org = pl.lit(silent_after_days, pl.Int64), pl.lit(churned_after_days, pl.Int64)
    cycle = pl.col("cycle_days")
    if allow_shorter_cycles:
        s_expr = pl.coalesce(cycle, s_org)
        c_expr = pl.coalesce(2 * cycle, c_org)
    else:
        # By default a category cycle only lengthens the org thresholds (DESIGN: "a
        # customer's cycle may be longer than the org default").
        s_expr = pl.max_horizontal(s_org, cycle)
        c_expr = pl.max_horizontal(c_org, 2 * cycle)

    d, first = pl.col("days_since_last"), pl.col("days_since_first")
    s, c = pl.col("silent_after"), pl.col("churned_after")
    gap = (pl.col("last_order_date") - pl.col("previous_order_date")).dt.total_days()
    return (
        dates.select("customer_id", "first_order_date", "last_order_date", "previous_order_date")
        .join(cycles, on="customer_id", how="left")
        .with_columns(
            days_since_last=days_since("last_order_date", as_of),
            days_since_first=days_since("first_order_date", as_of),
            silent_after=s_expr,
            churned_after=c_expr,
        )
        .with_columns(
            # The gap matters only while she is new or active (d <= S_i): it is what makes
            # her "reactivated" and what her reason quotes. Later it is left empty.
            gap_before_last_days=pl.when(d <= s).then(gap).cast(pl.Int64),
            previous_order_date=pl.when(d <= s).then(pl.col("previous_order_date")),
        )
        .with_columns(
            threshold_source=pl.when((s != s_org) | (c != c_org))
            .then(pl.lit("category"))
            .otherwise(pl.lit("org")),
            stage=pl.when(d.is_null())
            .then(pl.lit("potential"))
            .when(first <= s)
            .then(pl.lit("new"))
            .when(d <= s)
            .then(pl.lit("active"))
            .when(d <= c)
            .then(pl.lit("silent"))
            .otherwise(pl.lit("churned")),
            # "Within the last S days" follows DESIGN's "in the last L days": d < L.
            reactivated=((pl.col("gap_before_last_days") > c) & (d < s)).fill_null(False),
        )
        .select(
            "customer_id",
            "stage",
            "reactivated",
            "days_since_last",
            "days_since_first",
            "silent_after",
            "churned_after",
            "threshold_source",
            "cycle_days",
            "cycle_category_id",
            "first_order_date",
            "last_order_date",
            "previous_order_date",
            "gap_before_last_days",
        )
        .sort("customer_id")
    )


def lifecycle(
    customers: pl.DataFrame,
    orders: pl.DataFrame,
    lines: pl.DataFrame,
    category_cycles: pl.DataFrame,
    as_of: dt.date,
    silent_after_days: int = 90,
    churned_after_days: int = 180,
    *,
    allow_shorter_cycles: bool = False,
) -> pl.DataFrame:
    """Stage, reactivated flag and the figures behind them, one row per customer."""
    check_thresholds(silent_after_days, churned_after_days)
    customers = validate(customers, CUSTOMERS)
    orders = up_to(validate(orders, ORDERS), as_of)
    lines = bought_lines(validate(lines, LINES), as_of)
    cycles = relevant_cycles(
        validate(category_cycles, CATEGORY_CYCLES),
        silent_after_days,
        churned_after_days,
        allow_shorter_cycles=allow_shorter_cycles,
    )
    dates = _order_dates(orders)
    return stages(
        customers.select("customer_id").join(dates, on="customer_id", how="left"),
        _last_day_cycles(orders, lines, cycles, dates),
        as_of,
        silent_after_days,
        churned_after_days,
        allow_shorter_cycles=allow_shorter_cycles,
    )


def check_thresholds(silent_after_days: int, churned_after_days: int) -> None:
    """Raise ValueError unless 0 <= S <= C."""
    if silent_after_days < 0 or churned_after_days < silent_after_days:
        raise ValueError(
            "need 0 <= silent_after_days <= churned_after_days, got "
            f"{silent_after_days} and {churned_after_days}"
        )
