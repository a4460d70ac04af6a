"""Per-customer results of a refresh: lifecycle, RFM, value class, due categories and CLV.

Pure functions from the loaded frames to one Polars row per customer (and one row per due
customer and category); `jobs` writes them to CustomerAnalytics and CustomerDue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from huitouke.analytics import clv, cycles, lifecycle, rfm
from huitouke.analytics.frames import up_to
from huitouke.analytics.loader import Frames

__all__ = [
    "DUE_LOOKAHEAD_DAYS",
    "HOLDOUT_DAYS",
    "VALUABLE_SHARE",
    "ClvOutcome",
    "Settings",
    "clv_outcome",
    "core_results",
    "customer_results",
    "due_rows",
    "join_core",
]

DUE_LOOKAHEAD_DAYS = 6  # "due this week": due today or within the next six days
HOLDOUT_DAYS = 90  # the calibration chart holds out the last 90 days
VALUABLE_SHARE = 0.2  # "valuable": in the top fifth by value-if-she-stays


@dataclass(frozen=True)
class Settings:
    """The organisation's analytics settings (accounts.Organisation fields)."""

    silent_after_days: int = 90
    churned_after_days: int = 180
    rfm_lookback_days: int = 365
    rfm_high_low: Literal["mean", "score"] = "mean"

    @classmethod
    def of(cls, organisation: Any) -> Settings:
        """The settings stored on an Organisation."""
        return cls(
            silent_after_days=organisation.silent_after_days,
            churned_after_days=organisation.churned_after_days,
            rfm_lookback_days=organisation.rfm_lookback_days,
            rfm_high_low=organisation.rfm_high_low,
        )


@dataclass
class ClvOutcome:
    """The CLV fit of a refresh: per-customer predictions, or why there are none."""

    predictions: pl.DataFrame | None
    report: dict[str, Any] = field(default_factory=dict)


def due_rows(frames: Frames, as_of: dt.date, category_stats: pl.DataFrame) -> pl.DataFrame:
    """Customers due to rebuy a category today or within DUE_LOOKAHEAD_DAYS, with `due_now`.

    Windows are the learned [p25, p75] of each category, replaced by the configured window
    around a category's set cycle. Opening each window DUE_LOOKAHEAD_DAYS early and calling
    `cycles.due` once finds everyone whose window is open on some day of the coming week.
    """
    configured = cycles.configured_windows(frames.category_cycles)
    learned = category_stats.select(
        "category_id",
        due_from_days=pl.col("p25").cast(pl.Float64),
        due_to_days=pl.col("p75").cast(pl.Float64),
    ).join(configured, on="category_id", how="anti")
    windows = pl.concat(
        [configured.with_columns(pl.col("due_from_days", "due_to_days").cast(pl.Float64)), learned],
        how="vertical",
    )
    sources = pl.concat(
        [
            configured.select("category_id", source=pl.lit("configured")),
            learned.select("category_id", source=pl.lit("learned")),
        ]
    )
    early = windows.with_columns(pl.col("due_from_days") - DUE_LOOKAHEAD_DAYS)
    no_learned = pl.DataFrame(
        schema={"category_id": pl.Int64, "count": pl.Int64, "p25": pl.Float64, "p75": pl.Float64}
    )
    found = cycles.due(frames.lines, no_learned, as_of, windows=early)
    return (
        found.with_columns(due_from_days=pl.col("due_from_days") + DUE_LOOKAHEAD_DAYS)
        .join(sources, on="category_id", how="left")
        .select(
            "customer_id",
            "category_id",
            "days_since_last",
            "last_purchase_date",
            "due_from_days",
            "due_to_days",
            window_source=pl.col("source"),
            due_now=pl.col("days_since_last") >= pl.col("due_from_days"),
        )
    )


def _finite_or_none(values: Any) -> list[Any]:
    """Values for a JSON report: NaN and ±inf (a forecast the model could not compute) as None."""
    return [
        None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v for v in values
    ]


def _error(exc: clv.ClvDataError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "value": exc.value}


def _calibration(amounts: pl.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """Predicted vs actual orders in the last HOLDOUT_DAYS by calibration orders (Fig. 3)."""
    cal_end = as_of - dt.timedelta(days=HOLDOUT_DAYS)
    try:
        summary = clv.rfm_summary(
            amounts["customer_id"].to_numpy(),
            amounts["order_date"].to_numpy(),
            amounts["amount"].to_numpy(),
            cal_end,
            holdout_end=as_of,
        )
        fit = clv.fit_bgnbd(summary.x, summary.t_x, summary.T)
    except clv.ClvDataError as exc:
        return {"ok": False, "error": _error(exc), "calibration_end": cal_end.isoformat()}
    table = clv.holdout_comparison(summary, fit.params)
    return {
        "ok": True,
        "calibration_end": cal_end.isoformat(),
        "holdout_end": as_of.isoformat(),
        "x": [int(v) for v in table["x"]],
        "customers": [int(v) for v in table["customers"]],
        "actual": _finite_or_none(table["actual"].tolist()),
        "predicted": _finite_or_none(table["predicted"].tolist()),
    }


def clv_outcome(frames: Frames, as_of: dt.date) -> ClvOutcome:
    """Fit BG/NBD + Gamma-Gamma on orders up to as_of; predictions per customer who bought."""
    amounts = up_to(frames.orders, as_of).select(
        "customer_id", "order_date", amount=pl.col("net_cents") / 100
    )
    report: dict[str, Any] = {"calibration": _calibration(amounts, as_of)}
    try:
        summary = clv.rfm_summary(
            amounts["customer_id"].to_numpy(),
            amounts["order_date"].to_numpy(),
            amounts["amount"].to_numpy(),
            as_of,
        )
        fit = clv.fit_clv(summary)
    except clv.ClvDataError as exc:
        report.update(ok=False, error=_error(exc), warnings=[])
        return ClvOutcome(None, report)

    predictions = pl.DataFrame(
        {
            "customer_id": summary.customer_ids.astype(np.int64),
            "p_alive": fit.p_alive,
            "expected_orders_90d": fit.expected_orders_90d,
            "p_order_90d": fit.p_order_90d,
            "expected_aov": fit.expected_aov,
            "predicted_clv": fit.predicted_clv,
        }
    ).with_columns(
        clv_rank=pl.col("predicted_clv").rank("ordinal", descending=True).cast(pl.Int64),
        clv_if_alive=pl.when(pl.col("p_alive") > 0).then(
            pl.col("predicted_clv") / pl.col("p_alive")
        ),
    )
    threshold = predictions.select(pl.col("clv_if_alive").quantile(1 - VALUABLE_SHARE)).item()
    report.update(
        ok=True,
        params=fit.params,
        log_likelihood=fit.log_likelihood,
        gamma_gamma_log_likelihood=fit.gamma_gamma_log_likelihood,
        n_customers=fit.n_customers,
        n_repeaters=fit.n_repeaters,
        warnings=[{"code": w.code, "message": w.message, "value": w.value} for w in fit.warnings],
        valuable_threshold=threshold,
    )
    return ClvOutcome(predictions, report)


def core_results(frames: Frames, as_of: dt.date, settings: Settings) -> pl.DataFrame:
    """Lifecycle, RFM and value class of every customer, from every order and line."""
    stages = lifecycle.lifecycle(
        frames.customers,
        frames.orders,
        frames.lines,
        frames.category_cycles,
        as_of,
        settings.silent_after_days,
        settings.churned_after_days,
    )
    scored = rfm.rfm(frames.orders, as_of, settings.rfm_lookback_days, settings.rfm_high_low)
    classes = rfm.value_class(frames.customers, frames.orders, scored, as_of)
    return join_core(stages, scored, classes)


def join_core(stages: pl.DataFrame, scored: pl.DataFrame, classes: pl.DataFrame) -> pl.DataFrame:
    """One row per customer of `stages` with her RFM values, scores, segment and class."""
    return (
        stages.join(
            scored.select(
                "customer_id",
                "recency_days",
                "frequency",
                "monetary_cents",
                "r_score",
                "f_score",
                "m_score",
                rfm_segment="segment",
            ),
            on="customer_id",
            how="left",
        )
        .join(classes, on="customer_id", how="left")
        .sort("customer_id")
    )


def customer_results(
    core: pl.DataFrame, due: pl.DataFrame, predictions: pl.DataFrame | None
) -> pl.DataFrame:
    """`core` (one row per customer) with her due categories and CLV predictions."""
    due_now = (
        due.filter(pl.col("due_now"))
        .group_by("customer_id")
        .agg(due_categories=pl.col("category_id").sort())
    )
    out = core.join(due_now, on="customer_id", how="left")
    if predictions is not None:
        out = out.join(predictions, on="customer_id", how="left")
    else:
        out = out.with_columns(
            *(
                pl.lit(None, pl.Float64).alias(c)
                for c in (
                    "p_alive",
                    "expected_orders_90d",
                    "p_order_90d",
                    "expected_aov",
                    "predicted_clv",
                    "clv_if_alive",
                )
            ),
            clv_rank=pl.lit(None, pl.Int64),
        )
    return out.sort("customer_id")
