"""Parallel orders and refunds for one customer never lose an update (real parallel connections)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from tests.helpers import make_customer, run_in_threads

from huitouke.customers.models import Customer
from huitouke.sales.actions import LineInput, do_record_order, do_refund_order
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_orders_for_one_customer(org, store1, owner):
    customer = make_customer(org)
    n = 8

    def place(i: int) -> None:
        c = Customer.objects.get(pk=customer.pk)
        do_record_order(
            organisation=org,
            store=store1,
            customer=c,
            actor=None,
            lines=[LineInput(quantity=1, name=f"item {i}", unit_price=Decimal(f"{i + 1}.10"))],
        )

    assert run_in_threads(n, place)[1] == []
    customer.stats.refresh_from_db()
    assert customer.stats.orders_count == n == Order.objects.filter(customer=customer).count()
    assert customer.stats.net_spend == sum(Decimal(f"{i + 1}.10") for i in range(n))


def test_parallel_refunds_never_exceed_the_order(org, store1, owner):
    customer = make_customer(org)
    order = do_record_order(
        organisation=org,
        store=store1,
        customer=customer,
        actor=None,
        lines=[LineInput(quantity=1, name="卡", unit_price=Decimal("100.00"))],
    )

    def refund(i: int) -> None:
        do_refund_order(order=Order.objects.get(pk=order.pk), actor=None, amount="30.00")

    _results, errors = run_in_threads(5, refund)
    order.refresh_from_db()
    # 3 × 30 fit in 100; the other two are refused, whatever the interleaving.
    assert order.refunded_amount == Decimal("90.00")
    assert len(errors) == 2
    customer.stats.refresh_from_db()
    assert customer.stats.net_spend == Decimal("10.00")
    assert connection.vendor in ("postgresql", "sqlite")
