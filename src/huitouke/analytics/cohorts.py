"""Monthly retention cohorts, by customers and by revenue (DESIGN §5)."""

from __future__ import annotations

import calendar
import datetime as dt

import polars as pl

from huitouke.analytics.frames import ORDERS, up_to, validate

__all__ = ["cohorts", "recent_cohorts_only"]


def _month_index(column: str) -> pl.Expr:
    """Months since year 0, so that month arithmetic is integer arithmetic."""
    return pl.col(column).dt.year().cast(pl.Int64) * 12 + pl.col(column).dt.month() - 1


def _month_start(index: pl.Expr) -> pl.Expr:
    return pl.date(index // 12, index % 12 + 1, 1)


def cohorts(orders: pl.DataFrame, as_of: dt.date, months: int = 12) -> pl.DataFrame:
    """Long cohort frame: one row per (cohort month, k) for the last `months` cohort months.

    A cohort is the customers whose first order (over all history up to as_of) fell in that
    month; cell k counts those with an order in calendar month cohort + k, for every k up to
    as_of's month. `complete` is false for the month still running on as_of.
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    orders = up_to(validate(orders, ORDERS), as_of).select(
        "customer_id", "net_cents", month=_month_index("order_date")
    )
    this_month = as_of.year * 12 + as_of.month - 1
    month_is_over = as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]
    first_month = this_month - months + 1

    first = orders.group_by("customer_id").agg(cohort=pl.col("month").min())
    first = first.filter(pl.col("cohort") >= first_month)
    cells = (
        orders.join(first, on="customer_id", how="inner")
        .group_by("cohort", "month")
        .agg(
            active=pl.col("customer_id").n_unique().cast(pl.Int64),
            revenue_cents=pl.col("net_cents").sum(),
        )
    )
    sizes = first.group_by("cohort").agg(customers=pl.len().cast(pl.Int64))
    # Every (cohort, k) cell up to this month, so empty cells show as 0, not as gaps.
    grid = (
        pl.DataFrame({"cohort": pl.int_range(first_month, this_month + 1, eager=True)})
        .with_columns(month=pl.int_ranges(pl.col("cohort"), this_month + 1))
        .explode("month")
    )
    revenue_k0 = pl.col("revenue_cents").filter(pl.col("k") == 0).first().over("cohort")
    return (
        grid.join(sizes, on="cohort", how="left")
        .join(cells, on=["cohort", "month"], how="left")
        .with_columns(
            pl.col("customers", "active", "revenue_cents").fill_null(0),
            k=pl.col("month") - pl.col("cohort"),
        )
        .with_columns(
            share=pl.when(pl.col("customers") > 0).then(pl.col("active") / pl.col("customers")),
            revenue_share=pl.when(revenue_k0 > 0).then(pl.col("revenue_cents") / revenue_k0),
            complete=(pl.col("month") < this_month) | pl.lit(month_is_over),
        )
        .select(
            cohort_month=_month_start(pl.col("cohort")),
            k=pl.col("k"),
            month=_month_start(pl.col("month")),
            customers=pl.col("customers"),
            active=pl.col("active"),
            share=pl.col("share"),
            revenue_cents=pl.col("revenue_cents"),
            revenue_share=pl.col("revenue_share"),
            complete=pl.col("complete"),
        )
        .sort("cohort_month", "k")
    )


def recent_cohorts_only(orders: pl.DataFrame, as_of: dt.date, months: int = 12) -> pl.DataFrame:
    """The orders of the customers whose first order (of `orders`, up to as_of) falls in the
    last `months` cohort months: `cohorts` gives the same cells for them as for `orders`, as
    it drops every other customer's orders."""
    this_month = as_of.year * 12 + as_of.month - 1
    kept = up_to(orders, as_of)
    month = _month_index("order_date")
    first = kept.group_by("customer_id").agg(cohort=month.min())
    recent = first.filter(pl.col("cohort") >= this_month - months + 1)
    return kept.join(recent.select("customer_id"), on="customer_id", how="semi")
