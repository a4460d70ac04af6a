"""The home dashboard's trend numbers: new vs returning customers by month, the shop's kind this
quarter (seed 002) and the 12-month repurchase rate beside its trade's typical one (seed 001).

Every definition is in docs/definitions.md ("Home dashboard"); the tests recompute them in plain
Python over the orders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, Case, Count, F, Q, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from huitouke.accounts.models import Industry
from huitouke.analytics import queries
from huitouke.analytics.models import ReportKind
from huitouke.analytics.trends import (
    TREND_MONTHS,
    month_start,
    verdict_periods,
)
from huitouke.sales.models import Order

MONTHS = 12  # the revenue and buyers chart
MIN_BUYERS = 20  # fewer buyers in either compared period: too little data for a verdict
RETURNING_HEAVY = 0.5  # 吸血型: returning customers are more than half of the buyers

# Seed 001's typical repurchase rates (share of a year's buyers who bought twice or more), as
# (low, high) fractions, per trade; a reference, not a target.
COSMETICS = gettext_lazy("cosmetics")
WOMENS_APPAREL = gettext_lazy("women's apparel")
WATCHES = gettext_lazy("watches")
TRADE_REFERENCES = (
    (COSMETICS, (0.25, 0.30)),
    (WOMENS_APPAREL, (0.20, 0.20)),
    (WATCHES, (0.10, 0.10)),
)
# The reference each trade template is shown beside: beauty salons and cosmetics shops the
# seed's cosmetics figure (美妆), apparel boutiques and personal shoppers women's apparel.
TYPICAL_REPURCHASE: dict[str, tuple[Any, tuple[float, float]]] = {
    Industry.COSMETICS: TRADE_REFERENCES[0],
    Industry.BEAUTY: TRADE_REFERENCES[0],
    Industry.APPAREL: TRADE_REFERENCES[1],
    Industry.PERSONAL_SHOPPER: TRADE_REFERENCES[1],
}

VERDICTS = ("healthy", "returning_weak", "new_weak", "declining", "too_little_data")


def _local_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


@dataclass
class _Split:
    new: int = 0
    returning: int = 0

    @property
    def total(self) -> int:
        return self.new + self.returning


def _buyers(orders: Any, start: dt.date, end: dt.date, tz: ZoneInfo) -> _Split:
    """New and returning buyers of [start, end]: returning = first order before `start`."""
    first_day = _local_start(start, tz)
    returning = Q(customer__stats__first_order_at__lt=first_day)
    counts = orders.filter(
        placed_at__gte=first_day,
        placed_at__lt=_local_start(end + dt.timedelta(days=1), tz),
    ).aggregate(
        returning=Count("customer_id", distinct=True, filter=returning),
        new=Count("customer_id", distinct=True, filter=~returning),
    )
    return _Split(new=counts["new"] or 0, returning=counts["returning"] or 0)


def monthly(orders: Any, today: dt.date, tz: ZoneInfo, months: int) -> list[dict[str, Any]]:
    """Per calendar month up to today: new/returning buyers and their revenue (¥, 2 decimals).

    One grouped query (month × returning), so the cost does not grow with the customers in Python.
    """
    first_month = month_start(today, months - 1)
    rows = (
        orders.filter(
            placed_at__gte=_local_start(first_month, tz),
            placed_at__lt=_local_start(today + dt.timedelta(days=1), tz),
        )
        .order_by()
        .annotate(month=TruncMonth("placed_at", tzinfo=tz))
        .annotate(
            returning=Case(
                When(customer__stats__first_order_at__lt=F("month"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .values("month", "returning")
        .annotate(buyers=Count("customer_id", distinct=True), revenue=Sum("net_paid"))
    )
    out: dict[dt.date, dict[str, Any]] = {
        month_start(today, back): {
            "month": month_start(today, back),
            "new_buyers": 0,
            "returning_buyers": 0,
            "new_revenue": Decimal(0),
            "returning_revenue": Decimal(0),
        }
        for back in range(months - 1, -1, -1)
    }
    for row in rows:
        month = row["month"]
        month = month.astimezone(tz).date() if isinstance(month, dt.datetime) else month
        bucket = out[month]
        kind = "returning" if row["returning"] else "new"
        bucket[f"{kind}_buyers"] += row["buyers"]
        bucket[f"{kind}_revenue"] += row["revenue"] or Decimal(0)
    return list(out.values())


def repurchase_rate(orders: Any, today: dt.date, tz: ZoneInfo) -> dict[str, Any]:
    """Share of the last 365 days' buyers with two orders or more in them."""
    start = today - dt.timedelta(days=364)
    counts = (
        orders.filter(
            placed_at__gte=_local_start(start, tz),
            placed_at__lt=_local_start(today + dt.timedelta(days=1), tz),
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    buyers = repeat = 0
    for n in counts:
        buyers += 1
        repeat += n >= 2
    return {
        "buyers": buyers,
        "repeat": repeat,
        "rate": repeat / buyers if buyers else None,
        "start": start,
        "end": today,
    }


def judge(current: _Split, last_year: _Split) -> str:
    """The shop's kind from this quarter's and last year's new and returning buyers."""
    if current.total < MIN_BUYERS or last_year.total < MIN_BUYERS:
        return "too_little_data"
    new_up = current.new > last_year.new
    returning_up = current.returning > last_year.returning
    if new_up and returning_up:
        return "healthy"
    if new_up:
        return "returning_weak"
    if current.returning / current.total > RETURNING_HEAVY:
        return "new_weak"
    return "declining"


VERDICT_TEXT = {
    "healthy": (
        gettext_lazy("Healthy: new and returning customers both grew"),
        gettext_lazy("Keep doing what works; look after the new customers so they come back."),
    ),
    "returning_weak": (
        gettext_lazy("Returning customers are not kept (老客没做好)"),
        gettext_lazy(
            "New customers grew but returning ones did not: follow up after the first purchase, "
            "remind customers when they are due, win back the silent ones."
        ),
    ),
    "new_weak": (
        gettext_lazy("Living off regulars (吸血型): new traffic is the problem"),
        gettext_lazy(
            "More than half of the buyers are returning customers and new ones did not grow: "
            "bring in new customers (referrals, a welcome coupon, events)."
        ),
    ),
    "declining": (
        gettext_lazy("Neither new nor returning customers grew"),
        gettext_lazy(
            "Fewer or as many buyers as a year ago on both sides: start with the customers about "
            "to go silent and those due to rebuy."
        ),
    ),
    "too_little_data": (
        gettext_lazy("Not enough sales yet to say what kind of shop this is"),
        gettext_lazy(
            "The verdict needs at least 20 buyers this quarter and in the same period a year ago."
        ),
    ),
}


def _change(now: int, before: int) -> float | None:
    return (now - before) / before * 100 if before else None


def _live(user: Any, today: dt.date, tz: ZoneInfo) -> dict[str, Any]:
    """The reference computation: the viewer's counted orders, aggregated in the database."""
    orders = Order.objects.visible_to(user).counted().filter(customer__isnull=False)
    (start, end), (ly_start, ly_end) = verdict_periods(today)
    rate = repurchase_rate(orders, today, tz)
    return {
        "series": monthly(orders, today, tz, TREND_MONTHS),
        "current": _buyers(orders, start, end, tz),
        "previous": _buyers(orders, ly_start, ly_end, tz),
        "buyers": rate["buyers"],
        "repeat": rate["repeat"],
    }


def _stored(data: dict[str, Any]) -> dict[str, Any]:
    """The same figures from a stored "trends" report (analytics.trends)."""
    return {
        "series": [
            {
                "month": dt.date.fromisoformat(m["month"]),
                "new_buyers": m["new_buyers"],
                "returning_buyers": m["returning_buyers"],
                "new_revenue": Decimal(m["new_revenue"]),
                "returning_revenue": Decimal(m["returning_revenue"]),
            }
            for m in data["months"]
        ],
        "current": _Split(**data["current"]),
        "previous": _Split(**data["previous"]),
        "buyers": data["repurchase"]["buyers"],
        "repeat": data["repurchase"]["repeat"],
    }


def dashboard_trends(user: Any, today: dt.date) -> dict[str, Any] | None:
    """Everything the home dashboard's trend section shows for `user`'s scope.

    From the nightly refresh's "trends" report of her scope (figures through the end of its
    as-of day) when there is one, otherwise computed live as of `today`.
    """
    organisation = user.organisation
    if organisation is None:
        return None
    tz = ZoneInfo(organisation.time_zone)
    report = queries.latest_report(organisation.pk, ReportKind.TRENDS, queries.trends_scope(user))
    if report is not None and report.as_of <= today:
        as_of, figures = report.as_of, _stored(report.data)
    else:
        report, as_of, figures = None, today, _live(user, today, tz)
    series = figures["series"]
    (start, end), (ly_start, ly_end) = verdict_periods(as_of)
    current, last_year = figures["current"], figures["previous"]
    verdict = judge(current, last_year)
    title, advice = VERDICT_TEXT[verdict]
    buyers, repeat = figures["buyers"], figures["repeat"]
    typical = TYPICAL_REPURCHASE.get(organisation.industry)
    recent = series[-MONTHS:]
    return {
        "as_of": as_of,
        "computed_at": report.computed_at if report is not None else None,
        "months": recent,
        "verdict": {
            "code": verdict,
            "title": str(title),
            "advice": str(advice),
            "period": (start, end),
            "last_year": (ly_start, ly_end),
            "current": current,
            "previous": last_year,
            "new_change": _change(current.new, last_year.new),
            "returning_change": _change(current.returning, last_year.returning),
            "returning_share": current.returning / current.total if current.total else None,
        },
        "repurchase": {
            "buyers": buyers,
            "repeat": repeat,
            "rate": repeat / buyers if buyers else None,
            "start": as_of - dt.timedelta(days=364),
            "end": as_of,
            "typical": typical[1] if typical else None,
            "typical_name": str(typical[0]) if typical else "",
            "references": [(str(name), r) for name, r in TRADE_REFERENCES],
        },
        "chart": _chart_data(recent, series),
    }


def _chart_data(recent: list[dict[str, Any]], trend: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON the page embeds for ECharts; every label is plain text (escaped in the JS)."""

    def label(month: dt.date) -> str:
        return f"{month:%Y-%m}"

    return {
        "months": [label(m["month"]) for m in recent],
        "new_revenue": [float(m["new_revenue"]) for m in recent],
        "returning_revenue": [float(m["returning_revenue"]) for m in recent],
        "new_buyers": [m["new_buyers"] for m in recent],
        "returning_buyers": [m["returning_buyers"] for m in recent],
        "trend_months": [label(m["month"]) for m in trend],
        "trend_new": [m["new_buyers"] for m in trend],
        "trend_returning": [m["returning_buyers"] for m in trend],
        "labels": {
            "new": _("New customers"),
            "returning": _("Returning customers"),
            "revenue": _("Revenue (¥)"),
            "buyers": _("Buyers"),
            "yuan": "¥",
            # Axis numbers of 10,000 and more: 万 in Chinese, thousands (k) in English.
            "big": ["万", 10000] if (get_language() or "").startswith("zh") else ["k", 1000],
        },
    }
