"""Dashboard payloads built from stored Reports: KPI cards and the data of each ECharts chart.

Labels are translated here, on the server, so the browser script only draws.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from huitouke.analytics import clv
from huitouke.analytics.basket import QUADRANT_LABELS_ZH
from huitouke.analytics.models import Report
from huitouke.analytics.queries import uses_chinese
from huitouke.sales.models import Category, Product

__all__ = [
    "basket_rows",
    "calibration_chart",
    "category_chart",
    "clv_messages",
    "cohort_heatmap",
    "cycles_chart",
    "cycles_table",
    "kpi_cards",
    "product_cycles",
    "traffic_profit_chart",
]

QUADRANT_LABELS_EN = {
    "star": "stars",
    "traffic": "traffic items",
    "profit": "profit items",
    "weak": "to watch",
}


def _yuan(cents: float | int | None) -> Decimal | None:
    return None if cents is None else (Decimal(str(cents)) / 100).quantize(Decimal("0.01"))


def _change(current: float | None, before: float | None, ratio: bool) -> float | None:
    """Relative change for amounts, difference in percentage points for rates."""
    if current is None or before is None:
        return None
    if ratio:
        return (current - before) * 100
    return (current - before) / before * 100 if before else None


def kpi_cards(report: Report | None) -> list[dict[str, Any]]:
    """KPI cards: value now, previous period, same period last year, and the changes."""
    if report is None:
        return []
    data = report.data
    sp = data.get("second_purchase", {})
    specs: list[tuple[str, Any, str]] = [
        ("revenue_cents", _("Revenue"), "money"),
        ("orders", _("Orders"), "count"),
        ("buyers", _("Buyers"), "count"),
        ("new_buyers", _("New buyers"), "count"),
        ("returning_buyers", _("Returning buyers"), "count"),
        ("aov_cents", _("Average order value"), "money"),
        ("frequency", _("Orders per buyer"), "number"),
        ("repurchase_rate", _("Repurchase rate"), "rate"),
        ("returning_revenue_share", _("Returning-customer revenue share"), "rate"),
        ("margin_cents", _("Gross margin"), "money"),
        ("second_purchase_rate", _("Second purchase within 90 days"), "rate"),
    ]
    cards = []
    for key, label, kind in specs:
        if key == "second_purchase_rate":
            values = {p: (sp.get(p) or {}).get(key) for p in ("current", "previous", "last_year")}
        else:
            values = {p: (data.get(p) or {}).get(key) for p in ("current", "previous", "last_year")}
        shown = {p: _yuan(v) for p, v in values.items()} if kind == "money" else dict(values)
        is_rate = kind == "rate"
        cards.append(
            {
                "key": key,
                "label": label,
                "hint": _kpi_hint(key, sp),
                "kind": kind,
                "current": shown["current"],
                "previous": shown["previous"],
                "last_year": shown["last_year"],
                "vs_previous": _change(values["current"], values["previous"], is_rate),
                "vs_last_year": _change(values["current"], values["last_year"], is_rate),
            }
        )
    return cards


def _kpi_hint(key: str, second_purchase: dict[str, Any]) -> str:
    """The one-line "what this is" of a KPI card (docs/definitions.md), where it needs one."""
    if key == "repurchase_rate":
        return _(
            "Share of the period's buyers who ordered at least twice in it (visits, not items)."
        )
    if key == "second_purchase_rate":
        cohort = second_purchase.get("current") or {}
        days = second_purchase.get("within_days", 90)
        if cohort.get("start") and cohort.get("end"):
            return _(
                "Of the customers whose first order fell in %(start)s – %(end)s, the share "
                "who ordered again within %(days)s days."
            ) % {"start": cohort["start"], "end": cohort["end"], "days": days}
        return _(
            "Of the customers with a first order, the share who ordered again within %(days)s days."
        ) % {"days": days}
    return ""


def cohort_heatmap(report: Report | None) -> dict[str, Any] | None:
    """Cohort months × months since first order, share retained (percent) per cell."""
    if report is None or not report.data.get("cells"):
        return None
    cells = report.data["cells"]
    cohorts = sorted({c["cohort_month"][:7] for c in cells})
    index = {m: i for i, m in enumerate(cohorts)}
    sizes = {c["cohort_month"][:7]: c["customers"] for c in cells if c["k"] == 0}
    points = [
        [c["k"], index[c["cohort_month"][:7]], round(c["share"] * 100, 1)]
        for c in cells
        if c["share"] is not None
    ]
    revenue = [
        [c["k"], index[c["cohort_month"][:7]], round(c["revenue_share"] * 100, 1)]
        for c in cells
        if c["revenue_share"] is not None
    ]
    months = max(c["k"] for c in cells) + 1
    return {
        "cohorts": [f"{m} ({sizes.get(m, 0)})" for m in cohorts],
        "months": list(range(months)),
        "points": points,
        "revenue_points": revenue,
        "x_name": _("Months after the first order"),
        "customers_title": _("Customers still buying (%)"),
        "revenue_title": _("Revenue vs the first month (%)"),
    }


def _category_names(organisation_id: int) -> dict[int, Category]:
    return {c.pk: c for c in Category.objects.filter(organisation_id=organisation_id)}


def cycles_table(report: Report | None, organisation_id: int) -> list[dict[str, Any]]:
    """Every category with its configured cycle beside the learned one (count, p25, median, p75)."""
    learned = {r["category_id"]: r for r in (report.data.get("categories", []) if report else [])}
    rows = []
    for pk, category in sorted(_category_names(organisation_id).items(), key=lambda kv: kv[1].name):
        stats = learned.get(pk)
        rows.append({"category": category, "stats": stats})
    return rows


def product_cycles(report: Report | None) -> list[dict[str, Any]]:
    """The most repeated products' learned cycles, with names."""
    rows = report.data.get("products", []) if report else []
    names = dict(
        Product.objects.filter(pk__in=[r["product_id"] for r in rows]).values_list("pk", "name")
    )
    return [{**r, "name": names.get(r["product_id"], "?")} for r in rows]


def cycles_chart(report: Report | None, organisation_id: int) -> dict[str, Any] | None:
    """p25–p75 band and median of each category's learned cycle, with its configured cycle."""
    if report is None or not report.data.get("categories"):
        return None
    names = _category_names(organisation_id)
    rows = [r for r in report.data["categories"] if r["category_id"] in names]
    return {
        "names": [names[r["category_id"]].name for r in rows],
        "p25": [r["p25"] for r in rows],
        "band": [r["p75"] - r["p25"] for r in rows],
        "median": [r["median"] for r in rows],
        "configured": [names[r["category_id"]].cycle_days for r in rows],
        "labels": {
            "p25": "p25",
            "band": _("p25 to p75"),
            "median": _("Median (learned)"),
            "configured": _("Configured cycle"),
            "days": _("days"),
        },
    }


def category_chart(report: Report | None, organisation_id: int) -> dict[str, Any] | None:
    """Revenue per category this period and the one before, with margin rates."""
    if report is None or not report.data.get("rows"):
        return None
    names = _category_names(organisation_id)
    rows = report.data["rows"][:15]
    return {
        "names": [
            names[r["category_id"]].name if r["category_id"] in names else _("Uncategorised")
            for r in rows
        ],
        "revenue": [float(_yuan(r["revenue_cents"]) or 0) for r in rows],
        "previous": [float(_yuan(r["previous_revenue_cents"]) or 0) for r in rows],
        "rows": rows,
        "labels": {"revenue": _("This period"), "previous": _("Previous period")},
    }


# "Bought together" shows a pair only when it says something: bought together more often than
# by chance (lift > 1), in enough orders for that not to be one coincidence.
PAIR_MIN_LIFT = 1.0
PAIR_MIN_ORDERS = 3
PAIR_MIN_SUPPORT = 0.01


def basket_rows(report: Report | None, organisation_id: int, kind: str) -> list[dict[str, Any]]:
    """Pairs ("category_pairs" or "product_pairs") with lift > 1 and enough support, with names."""
    if report is None:
        return []
    pairs = [
        p
        for p in report.data.get(kind, [])
        if (p.get("lift") or 0) > PAIR_MIN_LIFT
        and (p.get("orders_together") or 0) >= PAIR_MIN_ORDERS
        and (p.get("support") or 0) >= PAIR_MIN_SUPPORT
    ]
    if kind == "category_pairs":
        names = {pk: c.name for pk, c in _category_names(organisation_id).items()}
    else:
        ids = {p["a"] for p in pairs} | {p["b"] for p in pairs}
        names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [
        {**p, "name_a": names.get(p["a"], "?"), "name_b": names.get(p["b"], "?")} for p in pairs
    ]


def traffic_profit_chart(report: Report | None) -> dict[str, Any] | None:
    """Products as points (buyers, margin rate) coloured by quadrant, medians as lines."""
    if report is None or not report.data.get("products"):
        return None
    products = report.data["products"]
    names = dict(
        Product.objects.filter(pk__in=[p["product_id"] for p in products]).values_list("pk", "name")
    )
    labels = QUADRANT_LABELS_ZH if uses_chinese() else QUADRANT_LABELS_EN
    series: dict[str, list[list[Any]]] = {q: [] for q in labels}
    for p in products:
        rate = p["margin_rate"]
        series[p["quadrant"]].append(
            [
                p["buyers"],
                round(rate * 100, 1) if rate is not None else 0,
                names.get(p["product_id"], "?"),
            ]
        )
    median_rate = report.data.get("median_margin_rate")
    return {
        "series": [{"name": labels[q], "data": pts} for q, pts in series.items()],
        "median_buyers": report.data.get("median_buyers"),
        "median_margin": round(median_rate * 100, 1) if median_rate is not None else None,
        "x_name": _("Buyers"),
        "y_name": _("Margin rate (%)"),
    }


def calibration_chart(report: Report | None) -> dict[str, Any] | None:
    """Mean predicted vs actual holdout orders by calibration-period repeat orders (Fig. 3)."""
    if report is None:
        return None
    cal = report.data.get("calibration") or {}
    if not cal.get("ok"):
        return None
    top = cal["x"][-1]
    return {
        "x": [str(x) if x < top else f"{x}+" for x in cal["x"]],
        "customers": cal["customers"],
        "actual": cal["actual"],
        "predicted": cal["predicted"],
        "calibration_end": cal["calibration_end"],
        "holdout_end": cal["holdout_end"],
        "labels": {
            "actual": _("Actual"),
            "predicted": _("Predicted"),
            "x": _("Repeat orders before the holdout"),
            "y": _("Orders per customer in the holdout"),
        },
    }


def _clv_message(item: dict[str, Any]) -> str:
    n = item.get("value")
    start = _("Predictions start once %(min)s customers have bought on two different days.") % {
        "min": clv.MIN_REPEAT_CUSTOMERS
    }
    thin = {
        "no_customers": _("No customer has bought yet, so there is nothing to forecast."),
        "one_customer": _("Only one customer has bought so far; a forecast needs more customers."),
        "all_orders_one_day": _(
            "All orders so far were placed on one day, so there is no buying pattern yet."
        ),
        "no_repeat_customers": _(
            "No customer has come back on a second day yet, so the forecast cannot learn how "
            "often customers return."
        ),
        "too_few_repeat_customers": _("So far %(n)s customers have bought on two different days.")
        % {"n": n},
    }
    code = item.get("code", "")
    if code in thin:
        return f"{thin[code]} {start}"
    messages = {
        "not_converged": _(
            "The forecast model could not settle on this data; it will try again after more orders."
        ),
        "degenerate_fit": _(
            "The forecast model found no stable pattern in this data yet, so no predictions are "
            "shown; it will try again after more orders."
        ),
        "failed": _("The forecast could not be calculated in the last refresh."),
        "non_positive_spend": _(
            "Repeat orders have no spend recorded, so order values cannot be forecast."
        ),
        "few_repeat_customers": _(
            "Only %(n)s customers have bought twice; treat the forecast as rough."
        )
        % {"n": n},
        "zero_spend_left_out": _(
            "%(n)s repeat customers who spent nothing were left out of the order-value model."
        )
        % {"n": n},
        "spend_too_dispersed": _(
            "Order values vary too wildly to model; each customer's own average is used."
        ),
        "extreme_parameters": _(
            "The model's parameters are extreme; take the forecasts with caution."
        ),
    }
    return messages.get(code, item.get("message", ""))


def clv_messages(report: Report | None) -> dict[str, Any]:
    """The CLV fit's error (if no forecast) and warnings, in plain words."""
    if report is None:
        return {"ok": False, "error": None, "warnings": []}
    data = report.data
    error = data.get("error")
    return {
        "ok": bool(data.get("ok")),
        "error": _clv_message(error) if error else None,
        "warnings": [_clv_message(w) for w in data.get("warnings", [])],
        "params": data.get("params"),
        "n_customers": data.get("n_customers"),
        "n_repeaters": data.get("n_repeaters"),
    }
