"""Product phases: where a purchase stands in its use cycle (使用期 / 结束前 / 休眠).

Seed 002 follows each purchase through its use: care and how-to while she uses it (使用期),
a repurchase reminder before it runs out (结束前), win-back once it should have run out long
ago (休眠). A phase starts on a day after the purchase (the day of purchase is day 0):

    days <  use_from      just bought (no phase yet)
    use_from ≤ days < end_from       使用期 in_use
    end_from ≤ days < dormant_from   结束前 ending
    dormant_from ≤ days              休眠 dormant

The days come from the product, else its category, else the template for the category
(seasonal goods such as 羽绒服), else the template for the organisation's trade.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import Organisation
from huitouke.sales.models import Category, OrderLine, OrderStatus, Product


class Phase(models.TextChoices):
    IN_USE = "in_use", _("In use (使用期)")
    ENDING = "ending", _("Running out (结束前)")
    DORMANT = "dormant", _("Dormant (休眠)")


@dataclass(frozen=True)
class PhaseWindows:
    """The first day of each phase after a purchase, and where the days come from."""

    use_from: int
    end_from: int
    dormant_from: int
    source: str = ""  # "product", "category" or "template:<name>"

    def start_of(self, phase: str) -> int:
        """The day after the purchase on which `phase` begins."""
        return {
            Phase.IN_USE: self.use_from,
            Phase.ENDING: self.end_from,
            Phase.DORMANT: self.dormant_from,
        }[Phase(phase)]

    def phase_on(self, days: int) -> Phase | None:
        """The phase of a purchase `days` days ago (None: just bought, or in the future)."""
        if days < self.use_from or days < 0:
            return None
        if days < self.end_from:
            return Phase.IN_USE
        if days < self.dormant_from:
            return Phase.ENDING
        return Phase.DORMANT


# The seed's numbers. 美妆 (beauty and cosmetics): care and how-to from day 3 (repurchase focus
# 3–10, trial 10–50), the reminder at 50–70, lost after 70. 服装: 当季 (this season, 3 months),
# 换季 (the change of season) to half a year, dormant after half a year. Seasonal goods such as
# 羽绒服 come back once a year: the reminder a month before the year is out, dormant after a
# year and a month.
TEMPLATES: dict[str, PhaseWindows] = {
    "beauty": PhaseWindows(3, 50, 70, "template:beauty"),
    "apparel": PhaseWindows(0, 90, 180, "template:apparel"),
    "seasonal": PhaseWindows(0, 335, 395, "template:seasonal"),
}
TEMPLATE_LABELS = {
    "beauty": _("Beauty and cosmetics"),
    "apparel": _("Apparel"),
    "seasonal": _("Seasonal goods (a year)"),
}
INDUSTRY_TEMPLATE = {
    "beauty": "beauty",
    "cosmetics": "beauty",
    "apparel": "apparel",
    "personal_shopper": "apparel",
    "other": "beauty",
}
# Category names that say "bought once a season": they take the seasonal template.
SEASONAL_WORDS = ("羽绒", "棉服", "棉衣", "大衣", "冬装", "泳衣", "泳装")


def template_for(industry: str, category_name: str = "") -> str:
    """The name of the template a category of an organisation of this trade defaults to."""
    if any(word in category_name for word in SEASONAL_WORDS):
        return "seasonal"
    return INDUSTRY_TEMPLATE.get(industry, "beauty")


def _own(obj: Any, source: str) -> PhaseWindows | None:
    days = (obj.phase_use_from, obj.phase_end_from, obj.phase_dormant_from)
    if any(d is None for d in days):
        return None
    return PhaseWindows(*days, source=source)


def windows_for(category: Category | None, product: Product | None, industry: str) -> PhaseWindows:
    """The phase days of a product (or of a category when product is None)."""
    if product is not None and (own := _own(product, "product")) is not None:
        return own
    if category is not None and (own := _own(category, "category")) is not None:
        return own
    return TEMPLATES[template_for(industry, category.name if category is not None else "")]


def check_windows(use_from: int | None, end_from: int | None, dormant_from: int | None) -> None:
    """Raise ValueError unless the three days are all given, or none, and ascending."""
    days = (use_from, end_from, dormant_from)
    if all(d is None for d in days):
        return
    if any(d is None for d in days):
        raise ValueError("give all three phase days, or none")
    assert use_from is not None and end_from is not None and dormant_from is not None
    if not 0 <= use_from < end_from < dormant_from:
        raise ValueError("phase days must rise: in use < running out < dormant")


def days_since(placed_at: dt.datetime, today: dt.date, tz: dt.tzinfo) -> int:
    """Calendar days from a purchase's local date to `today` (a purchase today is 0)."""
    return (today - placed_at.astimezone(tz).date()).days


def purchases_entering(
    organisation: Organisation,
    category_id: int,
    phase: str,
    day: dt.date,
    tz: dt.tzinfo,
    customers: QuerySet[Any],
) -> dict[int, int]:
    """{customer id: order id} of the purchases of the category entering `phase` on `day`.

    A purchase enters a phase on the phase's first day after it, in its product's days where
    the product has its own, else the category's. Only her latest purchase of the category
    counts: buying it again starts over. Automations and SOP rules key their occurrences by the
    order, so each purchase enters each phase once.
    """

    category = Category.objects.filter(pk=category_id, organisation_id=organisation.pk).first()
    if category is None:
        return {}
    industry = organisation.industry
    own = {
        p.pk: windows_for(category, p, industry).start_of(phase)
        for p in Product.objects.filter(category=category, phase_use_from__isnull=False)
    }
    default = windows_for(category, None, industry).start_of(phase)
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    bought_lines = OrderLine.objects.filter(
        order__organisation_id=organisation.pk,
        order__status=OrderStatus.PAID,
        order__customer__in=customers,
        category_id=category.pk,
        quantity__gt=0,
    )
    latest: dict[int, int] = {}
    for start_day in sorted({default, *own.values()}):
        bought = day - dt.timedelta(days=start_day)
        start = dt.datetime.combine(bought, dt.time.min, tzinfo=tz)
        which = Q(product_id__in=[pk for pk, d in own.items() if d == start_day])
        if start_day == default:
            which |= ~Q(product_id__in=list(own)) | Q(product_id__isnull=True)
        later = bought_lines.filter(
            order__customer_id=OuterRef("order__customer_id"),
            order__placed_at__gte=start + dt.timedelta(days=1),
            order__placed_at__lt=end_of_day,
        )
        rows = (
            bought_lines.filter(
                which,
                order__placed_at__gte=start,
                order__placed_at__lt=start + dt.timedelta(days=1),
            )
            .exclude(Exists(later))
            .values_list("order__customer_id", "order_id")
        )
        for customer_id, order_id in rows:
            latest[customer_id] = max(order_id, latest.get(customer_id, 0))
    return latest
