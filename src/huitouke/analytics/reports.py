"""Organisation-level reports of a refresh, as JSON-ready dicts keyed by scope.

Scopes: "" is the whole organisation, "store:ID" a store and "owner:ID" a staff member's own
customers ("manager:ID", a store manager's, only for the dashboard's trends and funnel).
KPIs credit orders to the store they were placed in (DESIGN §5); customer-based
reports (cohorts, second purchases) follow the customer's home store. Pure functions of the
loaded frames; `jobs` stores the results as Report rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import polars as pl

from huitouke.analytics import basket, cohorts, cycles, kpis
from huitouke.analytics.frames import bought_lines, up_to
from huitouke.analytics.loader import NO_PRODUCT, Frames

__all__ = [
    "BASKET_DAYS",
    "COHORT_MONTHS",
    "KPI_DAYS",
    "SECOND_PURCHASE_DAYS",
    "basket_report",
    "category_performance",
    "cohort_reports",
    "cycles_report",
    "funnel_reports",
    "json_rows",
    "kpi_reports",
    "manager_scope",
    "owner_scope",
    "store_scope",
    "traffic_profit_report",
]

KPI_DAYS = 30  # the dashboard's period: the last 30 days up to as-of
SECOND_PURCHASE_DAYS = 90
BASKET_DAYS = 90
COHORT_MONTHS = 12
TOP_PAIRS = 20
PRODUCT_MIN_SUPPORT = 0.002
TOP_PRODUCT_CYCLES = 50
MAX_PRODUCTS = 500

_DAY = dt.timedelta(days=1)
_KPI_FIELDS = (
    "buyers",
    "new_buyers",
    "returning_buyers",
    "orders",
    "revenue_cents",
    "margin_cents",
    "repeat_buyers",
    "returning_revenue_cents",
    "aov_cents",
    "frequency",
    "repurchase_rate",
    "returning_revenue_share",
)
_ZERO_KPIS: dict[str, Any] = {
    f: (
        None if f in ("aov_cents", "frequency", "repurchase_rate", "returning_revenue_share") else 0
    )
    for f in _KPI_FIELDS
}


def store_scope(store_id: int) -> str:
    """Scope key of a store."""
    return f"store:{store_id}"


def owner_scope(user_id: int) -> str:
    """Scope key of a staff member's own customers."""
    return f"owner:{user_id}"


def manager_scope(user_id: int) -> str:
    """Scope key of what one store manager sees (accounts.scoping): her store's orders and
    customers plus the customers she owns herself, wherever their home store is."""
    return f"manager:{user_id}"


def _clean(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (ISO dates, NaN as null)."""
    return [{k: _clean(v) for k, v in row.items()} for row in df.iter_rows(named=True)]


def _periods(as_of: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    return kpis.comparison_periods(as_of - (KPI_DAYS - 1) * _DAY, as_of)


def _second_purchase_windows(as_of: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    # A cohort of first orders whose 90-day window has fully passed by as-of: the current
    # period moved back by those 90 days, with its own previous and last-year periods.
    end = as_of - SECOND_PURCHASE_DAYS * _DAY
    return kpis.comparison_periods(end - (KPI_DAYS - 1) * _DAY, end)


def _second_purchases(
    frames: Frames,
    orders: pl.DataFrame,
    first: pl.DataFrame,
    as_of: dt.date,
    scopes: dict[str, tuple[str, int] | None],
) -> dict[str, dict[str, Any]]:
    """The second-purchase figures of every scope at once (`kpis.second_purchase_rate` of the
    scope's orders, for each of `_second_purchase_windows`).

    Scopes here go by customer (home store, owner), so a scope holds all of its customers'
    orders and her first order date is the organisation-wide one (`first`, from `orders`).
    Only the customers who first bought in one of the windows can count, so whether each of
    them bought again is found once, and every scope and window then counts its own.
    `scopes`: scope -> (customer column, value), None for every customer.
    """
    windows = _second_purchase_windows(as_of)
    lo = min(start for start, _ in windows.values())
    hi = max(end for _, end in windows.values())
    cohort = first.filter(pl.col("first_order_date").is_between(lo, hi))
    gap = (pl.col("order_date") - pl.col("first_order_date")).dt.total_days()
    again = (
        orders.select("customer_id", "order_date")
        .join(cohort, on="customer_id", how="inner")
        .filter(gap.is_between(1, SECOND_PURCHASE_DAYS))
        .select("customer_id")
        .unique()
    )
    table = (
        cohort.join(again.with_columns(again=pl.lit(True)), on="customer_id", how="left")
        .with_columns(pl.col("again").fill_null(False))
        .join(
            frames.customers.select("customer_id", "store_id", "owner_id"),
            on="customer_id",
            how="left",
        )
    )
    out: dict[str, dict[str, Any]] = {
        scope: {"within_days": SECOND_PURCHASE_DAYS} for scope in scopes
    }
    for name, (start, end) in windows.items():
        members = table.filter(pl.col("first_order_date").is_between(start, end))
        counts: dict[tuple[str, int] | None, tuple[int, int]] = {
            None: (members.height, int(members["again"].sum()))
        }
        for key in ("store_id", "owner_id"):
            grouped = (
                members.filter(pl.col(key).is_not_null())
                .group_by(key)
                .agg(n=pl.len(), again=pl.col("again").sum())
            )
            for value, n, repeat in grouped.iter_rows():
                counts[(key, int(value))] = (int(n), int(repeat))
        complete = end + dt.timedelta(days=SECOND_PURCHASE_DAYS) <= as_of
        for scope, which in scopes.items():
            n, repeat = counts.get(which, (0, 0))
            out[scope][name] = {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "cohort_customers": n,
                "second_purchasers": repeat,
                "second_purchase_rate": repeat / n if n else None,
                "window_complete": complete,
            }
    return out


def _by_customer_key(frames: Frames, orders: pl.DataFrame, key: str) -> dict[int, pl.DataFrame]:
    """Orders split by the customer's home store ("store_id") or owner ("owner_id")."""
    keyed = orders.join(
        frames.customers.select("customer_id", pl.col(key).alias("_key")), on="customer_id"
    ).filter(pl.col("_key").is_not_null())
    return {
        int(k[0]): part.drop("_key")  # type: ignore[arg-type]
        for k, part in keyed.partition_by("_key", as_dict=True).items()
    }


def _kpi_periods_only(orders: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The orders inside the KPI periods (current, previous, last year): all that `kpis`
    reads of them once it is given the first order dates."""
    inside = pl.lit(False)
    for start, end in _periods(as_of).values():
        inside = inside | pl.col("order_date").is_between(start, end)
    return orders.filter(inside)


def kpi_reports(
    frames: Frames, as_of: dt.date, store_ids: Iterable[int], owner_ids: Iterable[int]
) -> dict[str, dict[str, Any]]:
    """KPIs of the last KPI_DAYS days with the previous period and last year, per scope."""
    orders = up_to(frames.orders, as_of)
    first = kpis.first_order_dates(orders)
    in_periods = _kpi_periods_only(orders, as_of)
    start, end = _periods(as_of)["current"]
    periods = {k: [a.isoformat(), b.isoformat()] for k, (a, b) in _periods(as_of).items()}

    def collect(group_by: kpis.GroupBy) -> dict[int | None, dict[str, Any]]:
        table = kpis.kpis_compared(in_periods, first, start, end, group_by, frames.customers)
        found: dict[int | None, dict[str, Any]] = {}
        for row in table.iter_rows(named=True):
            key = row.get(group_by) if group_by else None
            found.setdefault(key, {})[row["period"]] = {f: _clean(row[f]) for f in _KPI_FIELDS}
        return found

    store_ids, owner_ids = list(store_ids), list(owner_ids)
    scopes: dict[str, tuple[str, int] | None] = {
        "": None,
        **{store_scope(sid): ("store_id", sid) for sid in store_ids},
        **{owner_scope(uid): ("owner_id", uid) for uid in owner_ids},
    }
    second = _second_purchases(frames, orders, first, as_of, scopes)

    def data(values: dict[str, Any], scope: str) -> dict[str, Any]:
        out: dict[str, Any] = {"periods": periods}
        for name in periods:
            out[name] = values.get(name, dict(_ZERO_KPIS))
        out["second_purchase"] = second[scope]
        return out

    reports = {"": data(collect(None)[None], "")}
    by_store, by_owner = collect("store_id"), collect("owner_id")
    for sid in store_ids:
        reports[store_scope(sid)] = data(by_store.get(sid, {}), store_scope(sid))
    for uid in owner_ids:
        reports[owner_scope(uid)] = data(by_owner.get(uid, {}), owner_scope(uid))
    return reports


def cohort_reports(
    frames: Frames, as_of: dt.date, store_ids: Iterable[int], owner_ids: Iterable[int]
) -> dict[str, dict[str, Any]]:
    """Monthly retention cohorts for the org, each home store and each owner's customers."""
    # Only customers whose first order falls in the last COHORT_MONTHS months make a cohort,
    # and a scope holds all of its customers' orders, so the others' orders are left out once
    # here instead of in every scope (`cohorts.cohorts` drops them; the cells are the same).
    orders = cohorts.recent_cohorts_only(up_to(frames.orders, as_of), as_of, COHORT_MONTHS)

    def data(part: pl.DataFrame) -> dict[str, Any]:
        return {
            "months": COHORT_MONTHS,
            "cells": json_rows(cohorts.cohorts(part, as_of, COHORT_MONTHS)),
        }

    reports = {"": data(orders)}
    for ids, key, scope in (
        (store_ids, "store_id", store_scope),
        (owner_ids, "owner_id", owner_scope),
    ):
        parts = _by_customer_key(frames, orders, key)
        for i in ids:
            reports[scope(i)] = data(parts.get(i, orders.clear()))
    return reports


def category_performance(
    frames: Frames, as_of: dt.date, store_ids: Iterable[int], owner_ids: Iterable[int]
) -> dict[str, dict[str, Any]]:
    """Per category over the KPI period and the one before: revenue, margin, orders, buyers."""
    periods = _periods(as_of)
    (start, end), (prev_start, _) = periods["current"], periods["previous"]
    in_periods = pl.col("order_date").is_between(prev_start, end)
    # A line's order has the line's date, so only the orders of the two periods can match.
    stores = frames.orders.filter(in_periods).select("order_id", "store_id")
    lines = (
        bought_lines(frames.lines, as_of)
        .filter(in_periods)
        .join(stores, on="order_id", how="left")
        .join(frames.customers.select("customer_id", "owner_id"), on="customer_id", how="left")
        .with_columns(current=pl.col("order_date") >= start)
    )
    net, cost, now = pl.col("net_cents"), pl.col("cost_cents"), pl.col("current")
    aggs = [
        net.filter(now).sum().alias("revenue_cents"),
        (net - cost).filter(now).sum().alias("margin_cents"),
        pl.col("qty").filter(now).sum().alias("qty"),
        pl.col("order_id").filter(now).n_unique().alias("orders"),
        pl.col("customer_id").filter(now).n_unique().alias("buyers"),
        net.filter(~now).sum().alias("previous_revenue_cents"),
    ]

    def table(keys: list[str]) -> pl.DataFrame:
        return (
            lines.group_by([*keys, "category_id"])
            .agg(aggs)
            .with_columns(
                margin_rate=pl.when(pl.col("revenue_cents") > 0).then(
                    pl.col("margin_cents") / pl.col("revenue_cents")
                )
            )
            .sort([*keys, "revenue_cents"], descending=[*([False] * len(keys)), True])
        )

    window = {"start": start.isoformat(), "end": end.isoformat()}
    reports = {"": {**window, "rows": json_rows(table([]))}}
    for ids, key, scope in (
        (store_ids, "store_id", store_scope),
        (owner_ids, "owner_id", owner_scope),
    ):
        grouped = {
            int(k[0]): part.drop(key)  # type: ignore[arg-type]
            for k, part in table([key])
            .filter(pl.col(key).is_not_null())
            .partition_by(key, as_dict=True)
            .items()
        }
        for i in ids:
            part = grouped.get(i)
            reports[scope(i)] = {**window, "rows": json_rows(part) if part is not None else []}
    return reports


def _products_only(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.filter(pl.col("product_id") != NO_PRODUCT)


def cycles_report(frames: Frames, as_of: dt.date) -> tuple[dict[str, Any], pl.DataFrame]:
    """Repurchase cycles per category and (the most repeated) products; also the category frame."""
    by_category = cycles.cycles(frames.lines, as_of, "category_id")
    by_product = (
        cycles.cycles(_products_only(frames.lines), as_of, "product_id")
        .sort(["count", "product_id"], descending=[True, False])
        .head(TOP_PRODUCT_CYCLES)
    )
    data = {"categories": json_rows(by_category), "products": json_rows(by_product)}
    return data, by_category


def basket_report(frames: Frames, as_of: dt.date) -> dict[str, Any]:
    """Top category and product pairs bought together in the last BASKET_DAYS days."""
    start = as_of - (BASKET_DAYS - 1) * _DAY
    by_category = basket.basket(frames.lines, as_of, start, as_of, "category_id")
    # Single products are rarer in baskets than categories: a lower floor still finds pairs.
    by_product = basket.basket(
        _products_only(frames.lines), as_of, start, as_of, "product_id", PRODUCT_MIN_SUPPORT
    )
    return {
        "start": start.isoformat(),
        "end": as_of.isoformat(),
        "orders": by_category.orders,
        "category_pairs": json_rows(by_category.pairs.head(TOP_PAIRS)),
        "product_orders": by_product.orders,
        "product_pairs": json_rows(by_product.pairs.head(TOP_PAIRS)),
    }


def traffic_profit_report(frames: Frames, as_of: dt.date) -> dict[str, Any]:
    """Traffic vs profit quadrants of the products sold in the last BASKET_DAYS days."""
    start = as_of - (BASKET_DAYS - 1) * _DAY
    table = basket.traffic_profit(_products_only(frames.lines), as_of, start, as_of)
    medians = table.select(
        buyers=pl.col("buyers").median(), margin_rate=pl.col("margin_rate").median()
    )
    return {
        "start": start.isoformat(),
        "end": as_of.isoformat(),
        "median_buyers": _clean(medians.item(0, "buyers")),
        "median_margin_rate": _clean(medians.item(0, "margin_rate")),
        "products": json_rows(
            table.sort(["revenue_cents", "product_id"], descending=[True, False]).head(MAX_PRODUCTS)
        ),
    }


def funnel_reports(
    table: pl.DataFrame,
    customers: pl.DataFrame,
    store_ids: Iterable[int],
    owner_ids: Iterable[int],
    managers: Iterable[tuple[int, int | None]] = (),
) -> dict[str, dict[str, Any]]:
    """Customers per lifecycle stage and how many of them came back, per scope, from the
    refresh's own customer results: what the dashboard's funnel shows without counting every
    customer on each view (analytics.queries.lifecycle_funnel). Scopes by customer, as the live
    count (accounts.scoping.customer_q): "" all, "store:ID" homed there, "owner:ID" hers,
    "manager:ID" her store's plus her own."""
    rows = table.select("customer_id", lifecycle="stage", reactivated="reactivated").join(
        customers.select("customer_id", "store_id", "owner_id"), on="customer_id", how="left"
    )

    def data(part: pl.DataFrame) -> dict[str, Any]:
        # Sorted, so the stored JSON is the same text on every run (a group_by's order is not).
        counts = (
            part.group_by("lifecycle")
            .agg(n=pl.len(), back=pl.col("reactivated").fill_null(False).sum())
            .sort("lifecycle")
        )
        by_stage = {str(r["lifecycle"]): int(r["n"]) for r in counts.iter_rows(named=True)}
        return {
            "counts": by_stage,
            "reactivated": int(sum(int(r["back"]) for r in counts.iter_rows(named=True))),
        }

    out = {"": data(rows)}
    for pk in store_ids:
        out[store_scope(pk)] = data(rows.filter(pl.col("store_id") == pk))
    for pk in owner_ids:
        out[owner_scope(pk)] = data(rows.filter(pl.col("owner_id") == pk))
    for pk, store_id in managers:
        seen = pl.col("owner_id") == pk
        if store_id is not None:
            seen = seen | (pl.col("store_id") == store_id)
        out[manager_scope(pk)] = data(rows.filter(seen))
    return out
