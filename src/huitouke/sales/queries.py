"""Read-side helpers of sales: the product phases of a customer's purchases (a category's learned
cycle beside its phases is analytics.queries.category_phases)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.sales.models import Category, OrderLine, OrderStatus
from huitouke.sales.phases import Phase, PhaseWindows, windows_for

RECENT_CATEGORIES = 6


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
