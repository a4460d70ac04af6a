"""Read-side helpers of sales: the product phases of a customer's purchases (a category's learned
cycle beside its phases is analytics.queries.category_phases)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.pinyin import readings
from huitouke.sales.models import Category, OrderLine, OrderStatus, Product
from huitouke.sales.phases import Phase, PhaseWindows, windows_for

RECENT_CATEGORIES = 6
PRODUCT_MATCHES = 8


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


@lru_cache(maxsize=16384)
def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower case without spaces: 玫瑰面膜 → meiguimianmo, mgmm.

    What is not Chinese stays whole in both, so "SK-II 神仙水" gives "sk-iishenxianshui" and
    "sk-iisxs"; the cache keeps a search over the organisation's products cheap.
    """
    full, initials = [], []
    for part, syllable in readings(name):  # core.pinyin
        if syllable:
            full.append(part)
            initials.append(part[0])
        else:  # not Chinese: kept whole in both
            kept = "".join(part.split()).lower()
            full.append(kept)
            initials.append(kept)
    return "".join(full), "".join(initials)


def _rank(product: Product, text: str) -> int | None:
    """How well `product` matches the typed text (lower is better), None when it does not."""
    name, sku = product.name.lower(), product.sku.lower()
    full, initials = pinyin_keys(product.name)
    if sku and sku == text:
        return 0
    if name.startswith(text):
        return 1
    if initials.startswith(text) or full.startswith(text):
        return 2
    if sku.startswith(text):
        return 3
    if text in name or text in sku or text in initials or text in full:
        return 4
    return None


def search_products(organisation: Any, text: str, *, limit: int = PRODUCT_MATCHES) -> list[Product]:
    """Products on sale matching a name, a SKU or pinyin (full or initials): the quick order's search.

    Empty text gives the first products by name, so a product can be chosen by tapping alone.
    """
    products = Product.objects.filter(organisation=organisation, is_active=True).select_related(
        "category"
    )
    text = "".join(text.split()).lower()
    if not text:
        return list(products.order_by("name", "id")[:limit])
    ranked = []
    for product in products.order_by("name", "id"):
        rank = _rank(product, text)
        if rank is not None:
            ranked.append((rank, product))
    ranked.sort(key=lambda pair: pair[0])
    return [product for _rank_, product in ranked[:limit]]
