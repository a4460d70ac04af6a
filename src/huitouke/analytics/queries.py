"""Read-side helpers over the stored analytics: the customer page block and the scoped lists.

Everything here reads CustomerAnalytics / CustomerDue / Report rows written by the refresh; no
analytics is computed on a request. Lists go through `accounts.scoping`, so a manager sees her
store's customers and a staff member her own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from lunar_python import Solar

from huitouke.accounts.models import Organisation, Role
from huitouke.accounts.scoping import customer_q
from huitouke.analytics import validity
from huitouke.analytics.clv import MIN_REPEAT_CUSTOMERS
from huitouke.analytics.lifecycle import STAGE_LABELS_EN, STAGE_LABELS_ZH, STAGES
from huitouke.analytics.models import (
    CustomerAnalytics,
    CustomerDue,
    Lifecycle,
    Report,
    ReportKind,
)
from huitouke.analytics.reports import manager_scope, owner_scope, store_scope
from huitouke.analytics.rfm import SEGMENT_LABELS_EN, SEGMENT_LABELS_ZH, SEGMENT_VALUE_CLASS
from huitouke.core.occasions import next_birthday
from huitouke.customers.models import Customer
from huitouke.sales.models import Category, Product
from huitouke.sales.phases import PhaseWindows, windows_for

__all__ = [
    "FADING_P_ALIVE",
    "SILENT_SOON_DAYS",
    "CustomerPanel",
    "analytics_for",
    "birthdays_this_week",
    "customer_panel",
    "due_this_week",
    "latest_report",
    "lifecycle_funnel",
    "lifecycle_reason",
    "report_scope",
    "rfm_grid",
    "segment_label",
    "stage_label",
    "trends_scope",
    "turning_silent",
    "uses_chinese",
    "valuable_fading",
]

FADING_P_ALIVE = 0.5  # "fading": the model gives her less than even odds of still buying
SILENT_SOON_DAYS = 14  # "about to go silent": her silent date falls in the next two weeks
LIST_SIZE = 10


def uses_chinese() -> bool:
    """Whether the active language is Chinese (labels then come from the engine's zh tables)."""
    return (translation.get_language() or "").startswith("zh")


def stage_label(stage: str) -> str:
    """The lifecycle stage in the reader's language (潜客 / potential …)."""
    return (STAGE_LABELS_ZH if uses_chinese() else STAGE_LABELS_EN).get(stage, stage)


def stage_title(stage: str) -> str:
    """The stage as a heading or chart label: "Silent" in English (the sentence form stays
    lower case, "… → silent"), 沉默 in Chinese."""
    label = stage_label(stage)
    return label[:1].upper() + label[1:]


def segment_label(segment: str) -> str:
    """The RFM segment in the reader's language (重要价值客户 / champions …)."""
    return (SEGMENT_LABELS_ZH if uses_chinese() else SEGMENT_LABELS_EN).get(segment, segment)


def lifecycle_reason(ca: CustomerAnalytics, category_name: str | None = None) -> str:
    """Why she is in her stage, e.g. "last order 95 days ago; cycle 90 days → silent"."""
    stage = stage_label(ca.lifecycle)
    if ca.lifecycle == Lifecycle.POTENTIAL or ca.days_since_last is None:
        return _("no order yet → %(stage)s") % {"stage": stage}
    days, first = ca.days_since_last, ca.days_since_first or 0
    values = {
        "days": days,
        "first": first,
        "cycle": ca.silent_after,
        "churned": ca.churned_after,
        "stage": stage,
        "category": category_name or "",
    }
    by_category = ca.threshold_source == "category" and bool(category_name)
    if ca.lifecycle == Lifecycle.NEW:
        text = ngettext(
            "first order %(first)s day ago; new for the first %(cycle)s days → %(stage)s",
            "first order %(first)s days ago; new for the first %(cycle)s days → %(stage)s",
            first,
        )
    elif ca.lifecycle == Lifecycle.CHURNED and by_category:
        text = ngettext(
            "last order %(days)s day ago; churned after %(churned)s days (twice the "
            "%(category)s cycle) → %(stage)s",
            "last order %(days)s days ago; churned after %(churned)s days (twice the "
            "%(category)s cycle) → %(stage)s",
            days,
        )
    elif ca.lifecycle == Lifecycle.CHURNED:
        text = ngettext(
            "last order %(days)s day ago; churned after %(churned)s days → %(stage)s",
            "last order %(days)s days ago; churned after %(churned)s days → %(stage)s",
            days,
        )
    elif by_category:
        text = ngettext(
            "last order %(days)s day ago; cycle %(cycle)s days (%(category)s) → %(stage)s",
            "last order %(days)s days ago; cycle %(cycle)s days (%(category)s) → %(stage)s",
            days,
        )
    else:
        text = ngettext(
            "last order %(days)s day ago; cycle %(cycle)s days → %(stage)s",
            "last order %(days)s days ago; cycle %(cycle)s days → %(stage)s",
            days,
        )
    reason = text % values
    if ca.reactivated and ca.gap_before_last_days is not None:
        reason = _("%(reason)s; came back after %(gap)s days away (reactivated)") % {
            "reason": reason,
            "gap": ca.gap_before_last_days,
        }
    return reason


@dataclass
class CustomerPanel:
    """What the customer page shows from the latest refresh."""

    analytics: CustomerAnalytics
    reason: str
    stage: str
    segment: str
    due: list[CustomerDue]
    # Whether the shop's CLV model predicts anything; if not, forecasts start once the shop
    # has this many repeat customers (docs/definitions.md).
    model_ready: bool = False
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS


def customer_panel(customer: Customer) -> CustomerPanel | None:
    """The analytics block of one customer, or None before the first refresh."""
    ca = (
        CustomerAnalytics.objects.filter(customer=customer).select_related("cycle_category").first()
    )
    if ca is None:
        return None
    category = ca.cycle_category.name if ca.cycle_category else None
    due = list(
        CustomerDue.objects.filter(customer=customer)
        .select_related("category")
        .order_by("-due_now", "category__name")
    )
    return CustomerPanel(
        analytics=ca,
        reason=lifecycle_reason(ca, category),
        stage=stage_label(ca.lifecycle),
        segment=segment_label(ca.rfm_segment) if ca.rfm_segment else "",
        due=due,
        model_ready=bool(
            (model := latest_report(customer.organisation_id, ReportKind.CLV))
            and model.data.get("ok")
        ),
    )


# --- scoped dashboard data --------------------------------------------------------------------


def report_scope(user: Any) -> str:
    """Which stored report scope a user reads: the org, her store, or her own customers."""
    if user.role == Role.OWNER:
        return ""
    if user.role == Role.MANAGER and user.store_id:
        return store_scope(user.store_id)
    return owner_scope(user.pk)


def trends_scope(user: Any) -> str:
    """Which stored dashboard report ("trends", "funnel") a user reads: exactly what her live
    dashboard counts (accounts.scoping), so a manager reads her own report (her store plus the
    customers she owns in other stores), not the store's."""
    if user.role == Role.MANAGER:
        return manager_scope(user.pk)
    return report_scope(user)


def latest_report(organisation_id: int, kind: str, scope: str = "") -> Report | None:
    """The newest stored report of a kind and scope; None when it is missing or unavailable.

    An unavailable report (the refresh could not compute it) hides older ones on purpose:
    yesterday's numbers are not shown as today's; `unavailable_reports` says why.
    """
    report = (
        Report.objects.filter(organisation_id=organisation_id, kind=kind, scope=scope)
        .order_by("-as_of")
        .first()
    )
    return None if report is None or validity.is_unavailable(report.data) else report


def unavailable_reports(organisation_id: int, scopes: Sequence[str]) -> list[dict[str, str]]:
    """The reports of the newest refresh that could not be computed, with their reasons."""
    newest = (
        Report.objects.filter(organisation_id=organisation_id)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if newest is None:
        return []
    labels = dict(ReportKind.choices)
    found = []
    for kind, scope, data in Report.objects.filter(
        organisation_id=organisation_id, as_of=newest, scope__in=scopes
    ).values_list("kind", "scope", "data"):
        if validity.is_unavailable(data):
            found.append(
                {
                    "kind": kind,
                    "label": str(labels.get(kind, kind)),
                    "scope": scope,
                    "reason": validity.unavailable_reason(data) or "",
                }
            )
    return sorted(found, key=lambda r: (r["label"], r["scope"]))


def analytics_for(user: Any) -> QuerySet[CustomerAnalytics]:
    """Analytics rows of the customers `user` may see.

    The row's own organisation is filtered too, so that the (organisation, …) indexes of the
    analytics table can answer the dashboard's lists and counts. For an owner that is the whole
    scope: a customer merged into another keeps no analytics row (deleted at the merge,
    analytics.hooks, and by every refresh), so her counts need no join with the customers and
    stay an index-only scan at 100k customers.
    """
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return CustomerAnalytics.objects.none()
    rows = CustomerAnalytics.objects.filter(organisation_id=user.organisation_id)
    if getattr(user, "role", None) == Role.OWNER:
        return rows
    return rows.filter(customer_q(user, "customer__"), customer__merged_into__isnull=True)


def _list_url(**params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{reverse('customers:list')}?{query}"


def lifecycle_funnel(user: Any, *, live: bool = False) -> dict[str, Any]:
    """Customers per lifecycle stage (and reactivated) in the user's scope, with list links.

    Read from the newest refresh's "funnel" report of her scope (the stages are the refresh's
    own results, so the count is the same as counting the analytics rows, without reading every
    customer on each view: 100k customers cost a 50 ms scan); counted live when there is no
    such report yet or `live` is asked for. Customers merged or moved between owners since the
    refresh count where they were at the refresh, like every number "as of" it.
    """
    report = (
        None if live else latest_report(user.organisation_id, ReportKind.FUNNEL, trends_scope(user))
    )
    if report is not None:
        counts = dict(report.data.get("counts", {}))
        reactivated = int(report.data.get("reactivated", 0))
    else:
        rows = (
            analytics_for(user)
            .values("lifecycle")
            .annotate(n=Count("pk"), back=Count("pk", filter=Q(reactivated=True)))
        )
        counts = {r["lifecycle"]: r["n"] for r in rows}
        reactivated = sum(r["back"] for r in rows)
    stages = [
        {
            "code": s,
            "label": stage_title(s),
            "count": counts.get(s, 0),
            "url": _list_url(lifecycle=s),
        }
        for s in STAGES
    ]
    return {
        "stages": stages,
        "total": sum(counts.values()),
        "reactivated": reactivated,
        "reactivated_url": _list_url(lifecycle="active", reactivated="yes"),
    }


def rfm_grid(user: Any) -> list[dict[str, Any]]:
    """The eight RFM segments in the user's scope: count, spend and its share, list link."""
    rows = (
        analytics_for(user)
        .exclude(rfm_segment="")
        .values("rfm_segment")
        .annotate(n=Count("pk"), revenue=Sum("monetary"))
    )
    found: dict[str, dict[str, Any]] = {r["rfm_segment"]: dict(r) for r in rows}
    total = sum((r["revenue"] or 0) for r in found.values())
    grid = []
    for code in SEGMENT_VALUE_CLASS:
        row = found.get(code, {})
        revenue = row.get("revenue") or 0
        grid.append(
            {
                "code": code,
                "label": segment_label(code),
                "label_zh": SEGMENT_LABELS_ZH[code],
                "value_class": SEGMENT_VALUE_CLASS[code],
                "count": row.get("n", 0),
                "revenue": revenue,
                "share": float(revenue / total) if total else None,
                "url": _list_url(rfm_segment=code),
            }
        )
    return grid


def turning_silent(user: Any, limit: int = LIST_SIZE) -> list[CustomerAnalytics]:
    """Customers not yet silent whose silent date falls in the next 14 days, most valuable first.

    She turns silent the day her days since the last order pass her silent threshold S
    (docs/definitions.md, lifecycle): with d days as of T, on T + (S + 1 − d). That day lies in
    T + 1 … T + 14 when S − 13 ≤ d ≤ S. Value: predicted CLV, then spend in the RFM window.
    """
    rows = list(
        analytics_for(user)
        .filter(
            lifecycle__in=[Lifecycle.NEW, Lifecycle.ACTIVE],
            days_since_last__gte=F("silent_after") - (SILENT_SOON_DAYS - 1),
            days_since_last__lte=F("silent_after"),
        )
        .select_related("customer")
        .order_by(
            F("predicted_clv").desc(nulls_last=True),
            F("monetary").desc(nulls_last=True),
            "customer_id",
        )[:limit]
    )
    for row in rows:
        assert row.silent_after is not None and row.days_since_last is not None
        row.silent_in = row.silent_after + 1 - row.days_since_last  # type: ignore[attr-defined]
        row.silent_on = row.as_of + dt.timedelta(days=row.silent_in)  # type: ignore[attr-defined]
    return rows


def valuable_fading(
    user: Any, threshold: float | None, limit: int = LIST_SIZE
) -> QuerySet[CustomerAnalytics]:
    """Worth a lot if she stays (top fifth by value-if-alive) but P(alive) below one half."""
    qs = analytics_for(user).filter(p_alive__lt=FADING_P_ALIVE, clv_if_alive__isnull=False)
    if threshold is not None:
        qs = qs.filter(clv_if_alive__gte=threshold)
    return qs.select_related("customer").order_by("-clv_if_alive", "customer_id")[:limit]


def due_this_week(user: Any, limit: int = 12) -> QuerySet[CustomerDue]:
    """Customers due to rebuy a category now or within the week, most overdue first.

    Each row carries `refreshed_on` (the refresh's as_of, from her CustomerAnalytics row of the
    same refresh), so `days_since_last` gives the days from the purchase to that date. Every
    row of an organisation is of the same refresh, so the earliest purchase is the most
    overdue (what "days since, descending" ordered before the day count was stored no more).
    """
    return (
        CustomerDue.objects.filter(
            customer_q(user, "customer__"),
            organisation_id=user.organisation_id,
            customer__merged_into__isnull=True,
        )
        .annotate(refreshed_on=F("customer__analytics__as_of"))
        .select_related("customer", "category")
        # in the due_org_overdue index's order
        .order_by("-due_now", "last_purchase_date", "customer_id")[:limit]
    )


@functools.lru_cache(maxsize=512)
def _lunar_month_day(day: dt.date) -> tuple[int, int]:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    return abs(lunar.getMonth()), lunar.getDay()


@functools.lru_cache(maxsize=8192)
def _celebration(kind: str, month: int, day: int, is_leap: bool, today: dt.date) -> dt.date | None:
    """next_birthday, remembered: the Chinese calendar takes milliseconds a call and a week's
    birthdays ask the same few dozen (kind, month, day) every request. None for an impossible
    stored date (e.g. 2-30 solar), which is never celebrated."""
    try:
        return next_birthday(kind, month, day, is_leap, today)  # type: ignore[arg-type]
    except ValueError:
        return None


def birthdays_this_week(
    user: Any, today: dt.date, days: int = 7, limit: int = 20
) -> list[tuple[dt.date, Customer]]:
    """Customers whose birthday (solar or lunar) falls in [today, today + days - 1], by date
    then customer id, at most `limit`.

    A cheap superset by (kind, month, day) first, each with the organisation so that the
    (organisation, birth_month, birth_day) index answers it; the exact date of each distinct
    birthday among them (the rule of core.occasions); then only the first `limit` customers in
    date order are read, not every customer born that week (≈ 2,000 at 100k customers).
    """
    end = today + dt.timedelta(days=days - 1)
    solar: set[tuple[int, int]] = set()
    lunar: set[tuple[int, int]] = set()
    for i in range(days):
        day = today + dt.timedelta(days=i)
        solar.add((day.month, day.day))
        if (day.month, day.day) == (2, 28):
            solar.add((2, 29))  # celebrated on 28 February in common years
        month, lday = _lunar_month_day(day)
        lunar.add((month, lday))
        if lday == 29:
            lunar.add((month, 30))  # day 30 falls back to 29 in a short month
    match = Q(pk__in=[])
    for kind, pairs in (("solar", solar), ("lunar", lunar)):
        for month, day_ in sorted(pairs):
            match |= Q(
                organisation_id=user.organisation_id,
                birth_month=month,
                birth_day=day_,
                birthday_kind=kind,
            )
    # The ignore is for mypy without the django-stubs plugin, which types the manager.
    visible = Customer.objects.visible_to(user).filter(match)  # type: ignore[attr-defined]
    on_day: dict[dt.date, Q] = {}
    birthdays = visible.values_list(
        "birthday_kind", "birth_month", "birth_day", "birth_leap_month"
    ).distinct()
    for kind, b_month, b_day, leap in birthdays.order_by():
        when = _celebration(kind, b_month or 0, b_day or 0, bool(leap), today)
        if when is not None and when <= end:
            same = Q(
                birthday_kind=kind, birth_month=b_month, birth_day=b_day, birth_leap_month=leap
            )
            on_day[when] = on_day[when] | same if when in on_day else same
    found: list[tuple[dt.date, Customer]] = []
    for when in sorted(on_day):
        if len(found) >= limit:
            break
        rows = (
            visible.filter(on_day[when])
            .only("pk", "name", "birthday_kind", "birth_month", "birth_day", "birth_leap_month")
            .order_by("pk")[: limit - len(found)]
        )
        found.extend((when, customer) for customer in rows)
    return found


# --- the products page: a category's phases beside the cycle learned from real gaps -----------


@dataclass(frozen=True)
class CategoryPhases:
    """A category's configured (or template) phases beside the cycle learned from real gaps."""

    category: Category
    windows: PhaseWindows
    learned_p25: float | None
    learned_p75: float | None
    learned_count: int  # the number of gaps the learned cycle rests on


@dataclass(frozen=True)
class ProductPhases:
    """A product's phases (its own, else its category's or the template's) beside its learned cycle."""

    product: Product
    windows: PhaseWindows
    learned_p25: float | None
    learned_p75: float | None
    learned_count: int


def learned_cycles(organisation_id: int, by: str = "category") -> dict[int, dict[str, Any]]:
    """{category (or product) id: {count, p25, median, p75}} from the latest cycles report.

    The report keeps every category and the most repeated products (analytics.reports).
    """
    report = latest_report(organisation_id, ReportKind.CYCLES)
    if report is None:
        return {}
    rows = report.data.get("categories" if by == "category" else "products", [])
    return {int(row[f"{by}_id"]): row for row in rows}


def product_phases(organisation: Organisation, products: Iterable[Product]) -> list[ProductPhases]:
    """Each product with the phase days it follows and the cycle learned from its repeat buyers."""
    learned = learned_cycles(organisation.pk, "product")
    rows = []
    for product in products:
        gaps = learned.get(product.pk, {})
        rows.append(
            ProductPhases(
                product=product,
                windows=windows_for(product.category, product, organisation.industry),
                learned_p25=gaps.get("p25"),
                learned_p75=gaps.get("p75"),
                learned_count=int(gaps.get("count") or 0),
            )
        )
    return rows


def category_phases(organisation: Organisation) -> list[CategoryPhases]:
    """Every category with its phases and its learned p25–p75 (and sample size)."""
    learned = learned_cycles(organisation.pk)
    rows = []
    for category in Category.objects.filter(organisation=organisation):
        gaps = learned.get(category.pk, {})
        rows.append(
            CategoryPhases(
                category=category,
                windows=windows_for(category, None, organisation.industry),
                learned_p25=gaps.get("p25"),
                learned_p75=gaps.get("p75"),
                learned_count=int(gaps.get("count") or 0),
            )
        )
    return rows
