"""The stats an import leaves: the set-based refresh equals the per-customer one, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.helpers import make_customer
from tests.imports.importfiles import stored_stats

from huitouke.customers.models import CustomerStats
from huitouke.sales import stats
from huitouke.sales.models import Category, Order, OrderLine, OrderSource, OrderStatus
from huitouke.sales.stats import refresh_customer_stats, refresh_stats_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # the 12-month window starts 2025-06-30 12:00


def order(
    customer: Any,
    store: Any,
    placed_at: datetime,
    net: str,
    *,
    cost: str = "0",
    refunded: str = "0",
    refunded_cost: str = "0",
    status: str = OrderStatus.PAID,
    categories: tuple[Category, ...] = (),
) -> Order:
    """An order as an import writes it (no hooks), with one line per category."""
    placed = Order.objects.create(
        organisation=store.organisation,
        store=store,
        customer=customer,
        placed_at=placed_at,
        status=status,
        gross_amount=Decimal(net),
        net_paid=Decimal(net),
        cost_amount=Decimal(cost),
        refunded_amount=Decimal(refunded),
        refunded_cost=Decimal(refunded_cost),
        source=OrderSource.IMPORT,
    )
    for category in categories:
        OrderLine.objects.create(
            order=placed, category=category, name=category.name, unit_price=Decimal(net)
        )
    return placed


@pytest.mark.parametrize("whole_organisation", [False, True])
def test_set_based_stats_equal_the_hand_worked_figures_and_the_per_customer_refresh(
    org, store1, monkeypatch, whole_organisation
):
    if whole_organisation:  # the single pass over all of the organisation's orders
        monkeypatch.setattr(stats, "SCAN_FROM", 1)
    skin, makeup, nails, care = (
        Category.objects.create(organisation=org, name=name)
        for name in ("护肤", "彩妆", "美甲", "护理")
    )
    chen, wang, li = make_customer(org), make_customer(org), make_customer(org)
    order(
        chen,
        store1,
        datetime(2025, 1, 10, 2, 0, tzinfo=UTC),
        "300.00",
        cost="120.00",
        categories=(skin,),
    )
    order(
        chen,
        store1,
        datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
        "200.00",
        cost="80.00",
        refunded="50.00",
        refunded_cost="20.00",
        categories=(makeup,),
    )
    # Two orders at the latest time: the categories of both count as "last".
    latest = datetime(2026, 5, 20, 10, 30, tzinfo=UTC)
    order(chen, store1, latest, "99.90", cost="30.00", categories=(nails, skin))
    order(chen, store1, latest, "10.00", categories=(care,))
    # Later, but not counted: refunded in full, and closed.
    order(chen, store1, datetime(2026, 6, 1, tzinfo=UTC), "500.00", refunded="500.00",
          status=OrderStatus.REFUNDED, categories=(makeup,))  # fmt: skip
    order(chen, store1, datetime(2026, 6, 10, tzinfo=UTC), "80.00", status=OrderStatus.CLOSED)
    # Wang has no order left: her stale stats must be reset. Li is not touched by the refresh.
    CustomerStats.objects.filter(customer=wang).update(orders_count=9, net_spend=Decimal("999"))
    CustomerStats.objects.filter(customer=li).update(orders_count=7)

    assert refresh_stats_for(org.pk, [chen.pk, wang.pk, chen.pk], now=NOW) == 2

    by_hand = {
        "orders_count": 4,
        "net_spend": Decimal("559.90"),  # 300 + (200 - 50) + 99.90 + 10
        "gross_margin": Decimal("349.90"),  # 180 + (150 - 80 + 20) + 69.90 + 10
        "first_order_at": datetime(2025, 1, 10, 2, 0, tzinfo=UTC),
        "last_order_at": latest,
        "avg_order_value": Decimal("139.98"),  # 559.90 / 4 = 139.975
        "spend_12m": Decimal("259.90"),  # the 2025-01-10 order is outside the window
        "last_order_categories": sorted([nails.pk, skin.pk, care.pk]),
    }
    assert stored_stats(chen) == by_hand
    assert stored_stats(wang) == {
        "orders_count": 0,
        "net_spend": Decimal("0.00"),
        "gross_margin": Decimal("0.00"),
        "first_order_at": None,
        "last_order_at": None,
        "avg_order_value": Decimal("0.00"),
        "spend_12m": Decimal("0.00"),
        "last_order_categories": [],
    }
    assert CustomerStats.objects.get(customer=li).orders_count == 7

    # The per-customer refresh that every recorded order runs gives the very same row.
    set_based = stored_stats(chen), stored_stats(wang)
    refresh_customer_stats(chen.pk, now=NOW)
    refresh_customer_stats(wang.pk, now=NOW)
    assert (stored_stats(chen), stored_stats(wang)) == set_based


def test_set_based_stats_cover_more_customers_than_one_batch(org, store1):
    customers = [make_customer(org) for _ in range(3)]
    for number, customer in enumerate(customers, start=1):
        for day in range(number):
            order(customer, store1, datetime(2026, 6, day + 1, tzinfo=UTC), "10.00")
    refresh_stats_for(org.pk, [c.pk for c in customers], now=NOW, batch_size=2)
    assert [stored_stats(c)["orders_count"] for c in customers] == [1, 2, 3]
    assert [stored_stats(c)["net_spend"] for c in customers] == [
        Decimal("10.00"),
        Decimal("20.00"),
        Decimal("30.00"),
    ]
