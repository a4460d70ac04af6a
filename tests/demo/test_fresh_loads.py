"""Loads into an empty database: determinism, refusal, progress and the `demo` command."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tests.helpers import make_customer, make_order

from huitouke.accounts.models import Organisation, Store, User
from huitouke.customers.models import Customer, CustomerStats, Interaction
from huitouke.demo.generator import DEMO_PASSWORD, generate_demo
from huitouke.sales.models import Order, OrderLine, Product, Refund

AS_OF = date(2025, 6, 30)


def snapshot() -> dict[str, Any]:
    """Everything the generator decided, without database ids."""
    ext = dict(Customer.objects.values_list("pk", "external_id"))
    return {
        "customers": sorted(
            (
                c.external_id,
                c.name,
                c.phone,
                c.gender,
                c.city,
                c.birth_month,
                c.birth_day,
                str(c.custom),
                ext.get(c.referrer_id),
                c.owner.username if c.owner else "",
                tuple(sorted(t.name for t in c.tags.all())),
            )
            for c in Customer.objects.select_related("owner").prefetch_related("tags")
        ),
        "orders": sorted(
            (
                ext[o.customer_id],
                o.placed_at,
                o.net_paid,
                o.status,
                o.refunded_amount,
                tuple((ln.product.sku, ln.quantity) for ln in o.lines.all()),
            )
            for o in Order.objects.prefetch_related("lines__product")
        ),
        "interactions": sorted(
            (ext[i.customer_id], i.kind, i.occurred_at, i.note) for i in Interaction.objects.all()
        ),
    }


def wipe() -> None:
    # Orders, lines and refunds protect what they point to, so they go first.
    Refund.objects.all().delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    User.objects.all().delete()
    Organisation.objects.all().delete()


def test_the_same_seed_gives_the_same_data(db: Any) -> None:
    generate_demo(customers=60, seed=3, as_of=AS_OF)
    first = snapshot()
    wipe()
    generate_demo(customers=60, seed=3, as_of=AS_OF)
    assert snapshot() == first
    wipe()
    generate_demo(customers=60, seed=4, as_of=AS_OF)
    assert snapshot()["orders"] != first["orders"]


def test_refuses_a_database_that_has_data(org: Organisation) -> None:
    with pytest.raises(ValueError, match="empty database"):
        generate_demo(customers=10)
    assert not Customer.objects.exists()


def test_reports_progress_up_to_the_total(db: Any) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_demo(
        customers=30,
        seed=1,
        as_of=AS_OF,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert ("customers", 30, 30) in seen and seen[-1] == ("stats", 1, 1)


def test_demo_command_loads_once_and_reuses_the_data(db: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--customers", "40", stdout=out)
    text = out.getvalue()
    assert Customer.objects.count() == 40
    orders = Order.objects.count()
    assert orders > 40
    for word in ("boss", "manager1", "staff3", DEMO_PASSWORD, "老板", "owner"):
        assert word in text

    again = io.StringIO()
    call_command("demo", "--no-serve", "--customers", "80", stdout=again)
    assert Customer.objects.count() == 40 and Order.objects.count() == orders
    assert Organisation.objects.count() == 1
    assert "reusing" in again.getvalue() and "boss" in again.getvalue()


def test_demo_command_rejects_a_bad_size(db: Any) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("demo", "--no-serve", "--customers", "0")


def test_rows_written_after_the_demo_get_fresh_ids(db: Any) -> None:
    # The generator picks ids itself; the database's sequences must have moved past them.
    generate_demo(customers=20, seed=5, as_of=AS_OF)
    top_customer = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    top_order = Order.objects.order_by("-pk").values_list("pk", flat=True)[0]
    store = Store.objects.order_by("pk")[0]
    customer = make_customer(store.organisation, name="新客人", phone="13900000001")
    order = make_order(customer, store, product=Product.objects.order_by("pk")[0])
    assert customer.pk > top_customer and order.pk > top_order
    stats = CustomerStats.objects.get(customer=customer)
    assert stats.orders_count == 1 and stats.net_spend == Decimal("198.00")
