"""Read-side helpers of sales: product phases of categories and of a customer's purchases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.sales.models import Category, OrderLine, OrderStatus, Product
from huitouke.sales.phases import Phase, PhaseWindows, windows_for

RECENT_CATEGORIES = 6


@dataclass(frozen=True)
class CategoryPhases:
    """A category's configured (or template) phases beside the cycle learned from real gaps."""

    category: Category
    windows: PhaseWindows
    learned_p25: float | None
    learned_p75: float | None
    learned_count: int  # the number of gaps the learned cycle rests on


@dataclass(frozen=True)
class PurchasePhase:
    """Her latest purchase of a category and the phase it is in today."""

    category: Category | None
    name: str
    bought: dt.date
    days: int
    phase: Phase | None
    windows: PhaseWindows

    @property
    def phase_label(self) -> str:
        """The phase in words (刚购买 before the first phase)."""
        return str(self.phase.label) if self.phase else _("Just bought")


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
    from huitouke.analytics.models import ReportKind
    from huitouke.analytics.queries import latest_report

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


def purchase_phases(
    customer: Any, today: dt.date | None = None, limit: int = RECENT_CATEGORIES
) -> list[PurchasePhase]:
    """The phase of her latest purchase of each category she bought lately, newest first."""
    organisation = customer.organisation
    tz = ZoneInfo(organisation.time_zone)
    today = today or timezone.now().astimezone(tz).date()
    lines = (
        OrderLine.objects.filter(
            order__customer=customer, order__status=OrderStatus.PAID, quantity__gt=0
        )
        .select_related("order", "product", "category", "product__category")
        .order_by("-order__placed_at", "-id")[:200]
    )
    found: list[PurchasePhase] = []
    seen: set[Any] = set()
    for line in lines:
        category = line.category or (line.product.category if line.product else None)
        key = category.pk if category is not None else ("name", line.name)
        if key in seen:
            continue
        seen.add(key)
        bought = line.order.placed_at.astimezone(tz).date()
        if bought > today:
            continue
        windows = windows_for(category, line.product, organisation.industry)
        days = (today - bought).days
        found.append(
            PurchasePhase(category, line.name, bought, days, windows.phase_on(days), windows)
        )
        if len(found) >= limit:
            break
    return found
