"""Recording orders and refunds keeps the customer's stats exact (DESIGN §4 Customer stats)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from tests.helpers import make_customer, make_order, make_product

from huitouke.sales.actions import LineInput, do_record_order, do_refund_order
from huitouke.sales.models import Category, Order, OrderLine, OrderStatus
from huitouke.sales.stats import rebuild_stats, refresh_customer_stats

D = Decimal


def test_stats_after_orders_match_a_hand_worked_example(org, store1, owner):
    mask = Category.objects.create(organisation=org, name="面膜", cycle_days=30)
    serum = Category.objects.create(organisation=org, name="精华", cycle_days=60)
    p_mask = make_product(org, name="面膜", price="50.00", cost="20.00", category=mask)
    p_serum = make_product(org, name="精华", price="300.00", cost="90.00", category=serum)
    c = make_customer(org)
    now = timezone.now()
    make_order(
        c, store1, product=p_mask, quantity=2, placed_at=now - timedelta(days=400)
    )  # 100, cost 40
    do_record_order(
        organisation=org,
        store=store1,
        customer=c,
        actor=owner,
        placed_at=now - timedelta(days=10),
        discount="30",
        lines=[LineInput(quantity=1, product=p_serum), LineInput(quantity=1, product=p_mask)],
    )  # gross 350 - 30 = 320, cost 110
    stats = refresh_customer_stats(c.pk, now=now)
    assert stats.orders_count == 2
    assert stats.net_spend == D("420.00")
    assert stats.gross_margin == D("420.00") - D("150.00")
    assert stats.avg_order_value == D("210.00")
    assert stats.spend_12m == D("320.00")  # the 400-day-old order is outside the trailing 12 months
    assert stats.first_order_at == now - timedelta(days=400)
    assert stats.last_order_at == now - timedelta(days=10)
    assert stats.last_order_categories == sorted([mask.pk, serum.pk])


def test_partial_then_full_refund(org, store1, owner):
    c = make_customer(org)
    order = make_order(c, store1, unit_price="200.00", quantity=1)
    do_refund_order(order=order, actor=owner, amount="50")
    c.stats.refresh_from_db()
    assert (c.stats.orders_count, c.stats.net_spend) == (1, D("150.00"))
    do_refund_order(order=order, actor=owner)
    order.refresh_from_db()
    c.stats.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert (c.stats.orders_count, c.stats.net_spend, c.stats.last_order_at) == (0, D("0.00"), None)


def test_refund_larger_than_the_order_is_refused_and_changes_nothing(org, store1, owner):
    order = make_order(make_customer(org), store1, unit_price="100.00")
    with pytest.raises(ValidationError, match=r"100\.00"):
        do_refund_order(order=order, actor=owner, amount="100.01")
    order.refresh_from_db()
    assert order.refunded_amount == 0 and order.refunds.count() == 0


def test_line_refund_returns_the_line_cost(org, store1, owner):
    c = make_customer(org)
    product = make_product(org, price="100.00", cost="40.00")
    order = make_order(c, store1, product=product, quantity=3)
    line = order.lines.get()
    do_refund_order(order=order, actor=owner, lines=[(line.pk, 1)])
    order.refresh_from_db()
    assert order.refunded_amount == D("100.00") and order.refunded_cost == D("40.00")
    c.stats.refresh_from_db()
    assert c.stats.gross_margin == D("200.00") - D("80.00")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (dict(quantity=-1, name="x", unit_price=D("1")), "quantity"),
        (dict(quantity=0, name="x", unit_price=D("1")), "quantity"),
        (dict(quantity=1, name="", unit_price=D("1")), "name"),
        (dict(quantity=1, name="x", unit_price=D("-5")), "negative"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(org, store1, owner, line, message):
    c = make_customer(org)
    with pytest.raises(ValidationError, match=message):
        do_record_order(
            organisation=org, store=store1, customer=c, actor=owner, lines=[LineInput(**line)]
        )
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0


def test_product_of_another_organisation_is_unknown(org, store1, owner, other_org):
    foreign = make_product(other_org)
    with pytest.raises(ValidationError, match="unknown product"):
        do_record_order(
            organisation=org,
            store=store1,
            customer=None,
            actor=owner,
            lines=[LineInput(quantity=1, product=foreign)],
        )


def test_discount_above_the_amount_is_refused(org, store1, owner):
    with pytest.raises(ValidationError):
        do_record_order(
            organisation=org,
            store=store1,
            customer=None,
            actor=owner,
            discount="500",
            lines=[LineInput(quantity=1, name="x", unit_price=D("100"))],
        )


def test_walk_in_orders_touch_no_customer(org, store1, owner):
    order = do_record_order(
        organisation=org,
        store=store1,
        customer=None,
        actor=owner,
        lines=[LineInput(quantity=1, name="散客", unit_price=D("9.90"))],
    )
    assert order.customer is None and order.net_paid == D("9.90")


def test_bulk_rebuild_equals_incremental_stats(org, store1, owner):
    customers = [make_customer(org) for _ in range(4)]
    now = timezone.now()
    for i, c in enumerate(customers[:3]):
        for k in range(i + 1):
            make_order(
                c, store1, unit_price=f"{10 * (k + 1)}.50", placed_at=now - timedelta(days=30 * k)
            )
    do_refund_order(
        order=Order.objects.filter(customer=customers[2]).first(), actor=owner, amount="1.25"
    )
    incremental = {c.pk: _snapshot(c) for c in customers}
    rebuild_stats(org)
    assert {c.pk: _snapshot(c) for c in customers} == incremental


def _snapshot(customer):
    customer.stats.refresh_from_db()
    s = customer.stats
    return (
        s.orders_count,
        s.net_spend,
        s.gross_margin,
        s.avg_order_value,
        s.first_order_at,
        s.last_order_at,
        s.last_order_categories,
    )


def test_last_order_categories_are_those_of_her_whole_last_visit(org, store1, owner):
    """Every paid order on the local date of her last order counts; returned lines do not."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(org.time_zone)  # Asia/Shanghai, UTC+8
    mask = Category.objects.create(organisation=org, name="面膜")
    serum = Category.objects.create(organisation=org, name="精华")
    lip = Category.objects.create(organisation=org, name="口红")
    eye = Category.objects.create(organisation=org, name="眼霜")
    products = {c: make_product(org, name=c.name, category=c) for c in (mask, serum, lip, eye)}
    c = make_customer(org)

    def buy(when, *cats):
        return do_record_order(
            organisation=org,
            store=store1,
            customer=c,
            actor=owner,
            placed_at=when,
            lines=[LineInput(quantity=1, product=products[k]) for k in cats],
        )

    # 2025-03-01 23:30 local is 15:30 UTC on the same day as the visit below: another day.
    buy(datetime(2025, 3, 1, 23, 30, tzinfo=tz), eye)
    buy(datetime(2025, 3, 2, 0, 30, tzinfo=tz), mask)  # 2025-03-01 16:30 UTC
    kept = buy(datetime(2025, 3, 2, 21, 0, tzinfo=tz), serum, lip)
    do_refund_order(order=kept, actor=owner, lines=[(kept.lines.get(product=products[lip]).pk, 1)])
    c.stats.refresh_from_db()
    assert c.stats.last_order_categories == sorted([mask.pk, serum.pk])
    c.stats.last_order_categories = []
    c.stats.save()
    rebuild_stats(org)
    c.stats.refresh_from_db()
    assert c.stats.last_order_categories == sorted([mask.pk, serum.pk])
