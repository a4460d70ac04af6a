"""Period KPIs with comparisons, and the second-purchase rate (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from huitouke.analytics.frames import CUSTOMERS, ORDERS, up_to, validate

__all__ = [
    "comparison_periods",
    "first_order_dates",
    "kpis",
    "kpis_compared",
    "same_date_last_year",
    "second_purchase_rate",
]

GroupBy = Literal["store_id", "owner_id"] | None
_ONE_DAY = dt.timedelta(days=1)


def first_order_dates(orders: pl.DataFrame, as_of: dt.date | None = None) -> pl.DataFrame:
    """Each customer's first order date over all the history given (up to as_of if set)."""
    orders = validate(orders, ORDERS)
    if as_of is not None:
        orders = up_to(orders, as_of)
    return orders.group_by("customer_id").agg(first_order_date=pl.col("order_date").min())


def _check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")


def kpis(
    orders: pl.DataFrame,
    first_orders: pl.DataFrame | None,
    period_start: dt.date,
    period_end: dt.date,
    group_by: GroupBy = None,
    customers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """KPIs of the period [start, end] (both days included), overall or per store or owner.

    `first_orders` (customer_id, first_order_date) must come from all history; None computes
    it from `orders`, which then must hold all history.
    """
    _check_period(period_start, period_end)
    if group_by not in (None, "store_id", "owner_id"):
        raise ValueError(f"group_by must be None, 'store_id' or 'owner_id', got {group_by!r}")
    orders = validate(orders, ORDERS)
    if first_orders is None:
        first_orders = first_order_dates(orders)
    period = orders.filter(pl.col("order_date").is_between(period_start, period_end))
    if group_by == "owner_id":
        if customers is None:
            raise ValueError("group_by='owner_id' needs the customers frame")
        owners = validate(customers, CUSTOMERS).select("customer_id", "owner_id")
        # The customer's current owner gets the credit; unowned customers group under null.
        period = period.join(owners, on="customer_id", how="left")
    keys = [group_by] if group_by else []

    per_buyer = (
        period.group_by([*keys, "customer_id"])
        .agg(
            n_orders=pl.len().cast(pl.Int64),
            revenue=pl.col("net_cents").sum(),
            margin=pl.col("margin_cents").sum(),
        )
        .join(first_orders.select("customer_id", "first_order_date"), on="customer_id", how="left")
        # "Returning" means a first order before the period, judged org-wide even per store.
        # A buyer missing from first_orders has no earlier order on record: she is new.
        .with_columns(returning=(pl.col("first_order_date") < period_start).fill_null(False))
    )
    ret = pl.col("returning")
    aggs = [
        pl.len().cast(pl.Int64).alias("buyers"),
        (~ret).sum().cast(pl.Int64).alias("new_buyers"),
        ret.sum().cast(pl.Int64).alias("returning_buyers"),
        pl.col("n_orders").sum().cast(pl.Int64).alias("orders"),
        pl.col("revenue").sum().cast(pl.Int64).alias("revenue_cents"),
        pl.col("margin").sum().cast(pl.Int64).alias("margin_cents"),
        (pl.col("n_orders") >= 2).sum().cast(pl.Int64).alias("repeat_buyers"),
        pl.col("revenue").filter(ret).sum().cast(pl.Int64).alias("returning_revenue_cents"),
    ]
    totals = per_buyer.group_by(keys).agg(aggs).sort(keys) if keys else per_buyer.select(aggs)

    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den))

    return totals.with_columns(
        aov_cents=ratio("revenue_cents", "orders"),
        frequency=ratio("orders", "buyers"),
        repurchase_rate=ratio("repeat_buyers", "buyers"),
        returning_revenue_share=ratio("returning_revenue_cents", "revenue_cents"),
    )


def same_date_last_year(day: dt.date, *, period_end: bool = False) -> dt.date:
    """The same calendar date a year earlier; 29 Feb becomes 28 Feb.

    A period end on the last day of February maps to the last day of February, so a whole
    February is compared with a whole February.
    """
    if period_end and day.month == 2 and (day + _ONE_DAY).month == 3:
        return dt.date(day.year - 1, 3, 1) - _ONE_DAY
    if day.month == 2 and day.day == 29:
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def comparison_periods(start: dt.date, end: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """The period, the same-length period just before it and the same period last year."""
    _check_period(start, end)
    length = end - start + _ONE_DAY
    return {
        "current": (start, end),
        "previous": (start - length, start - _ONE_DAY),
        "last_year": (same_date_last_year(start), same_date_last_year(end, period_end=True)),
    }


def kpis_compared(
    orders: pl.DataFrame,
    first_orders: pl.DataFrame | None,
    period_start: dt.date,
    period_end: dt.date,
    group_by: GroupBy = None,
    customers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`kpis` for the current, previous and last-year periods, stacked with a `period` column."""
    if first_orders is None:
        first_orders = first_order_dates(orders)
    frames = [
        kpis(orders, first_orders, start, end, group_by, customers).select(
            pl.lit(name).alias("period"),
            pl.lit(start).alias("period_start"),
            pl.lit(end).alias("period_end"),
            pl.all(),
        )
        for name, (start, end) in comparison_periods(period_start, period_end).items()
    ]
    return pl.concat(frames, how="vertical")


def second_purchase_rate(
    orders: pl.DataFrame,
    cohort_start: dt.date,
    cohort_end: dt.date,
    within_days: int = 90,
    *,
    as_of: dt.date,
) -> pl.DataFrame:
    """Share of customers first buying in [cohort_start, cohort_end] who buy again within N days.

    "Again" means an order on a later day, 1 to `within_days` days after the first order.
    `window_complete` is false while some cohort member's window still reaches past as_of.
    """
    _check_period(cohort_start, cohort_end)
    if within_days < 1:
        raise ValueError(f"within_days must be at least 1, got {within_days}")
    orders = up_to(validate(orders, ORDERS), as_of)
    cohort = (
        orders.group_by("customer_id")
        .agg(first_order_date=pl.col("order_date").min())
        .filter(pl.col("first_order_date").is_between(cohort_start, cohort_end))
    )
    gap = (pl.col("order_date") - pl.col("first_order_date")).dt.total_days()
    repeaters: int = (
        orders.join(cohort, on="customer_id", how="inner")
        .filter(gap.is_between(1, within_days))
        .select(pl.col("customer_id").n_unique())
        .item()
    )
    size = cohort.height
    return pl.DataFrame(
        {
            "cohort_customers": [size],
            "second_purchasers": [repeaters],
            "second_purchase_rate": [repeaters / size if size else None],
            "window_complete": [cohort_end + dt.timedelta(days=within_days) <= as_of],
        },
        schema={
            "cohort_customers": pl.Int64,
            "second_purchasers": pl.Int64,
            "second_purchase_rate": pl.Float64,
            "window_complete": pl.Boolean,
        },
    )
