"""Orders through the API: record with lines, list by customer and days, read, refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import make_customer, make_order, make_product

from huitouke.audit.models import AuditEntry
from huitouke.sales.models import Order, OrderLine, OrderStatus, Refund

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_record_an_order_with_a_product_and_a_free_text_line(
    api_as: Any, org: Any, staff_a: Any, store1: Any
) -> None:
    customer = make_customer(org, owner=staff_a)
    serum = make_product(org, price="100.00", cost="40.00")
    body = {
        "customer_id": customer.pk,
        "lines": [
            {"product_id": serum.pk, "quantity": 2},
            {"name": "修眉", "quantity": 1, "unit_price": "35.50"},
        ],
        "discount": "15.50",
        "note": "生日当天",
    }
    response = api_as(staff_a).post("/orders", body)
    assert response.status_code == 201
    data = response.json()
    # 2 × 100.00 + 1 × 35.50 = 235.50 before the discount, 220.00 paid.
    assert (data["gross_amount"], data["discount_amount"], data["net_paid"]) == (
        "235.50",
        "15.50",
        "220.00",
    )
    assert (data["store_id"], data["staff_id"], data["source"], data["status"]) == (
        store1.pk,
        staff_a.pk,
        "api",
        "paid",
    )
    assert [(line["name"], line["quantity"], line["unit_price"]) for line in data["lines"]] == [
        ("玻尿酸精华", 2, "100.00"),
        ("修眉", 1, "35.50"),
    ]
    customer.stats.refresh_from_db()
    assert (customer.stats.orders_count, customer.stats.net_spend) == (1, Decimal("220.00"))


def test_a_walk_in_sale_needs_no_customer_and_stays_visible_to_the_seller(
    api_as: Any, org: Any, staff_a: Any
) -> None:
    api = api_as(staff_a)
    created = api.post(
        "/orders", {"lines": [{"name": "洗剪吹", "quantity": 1, "unit_price": "58"}]}
    ).json()
    assert created["customer_id"] is None
    assert api.get(f"/orders/{created['id']}").status_code == 200


@pytest.mark.parametrize("offset", ["-21:07", "+23:59", "+08:00"])
def test_a_time_with_any_iso_offset_is_the_same_instant(
    api_as: Any, org: Any, staff_a: Any, offset: str
) -> None:
    # ISO 8601 allows offsets up to ±23:59; PostgreSQL stores only ±15:59. The instant counts.
    customer = make_customer(org, owner=staff_a)
    body = {
        "customer_id": customer.pk,
        "placed_at": f"2024-03-05T10:00:00{offset}",
        "lines": [{"name": "洗剪吹", "quantity": 1, "unit_price": "58"}],
    }
    response = api_as(staff_a).post("/orders", body)
    assert response.status_code == 201, response.content
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    expected = datetime(2024, 3, 5, 10, 0, tzinfo=UTC) - sign * timedelta(
        hours=hours, minutes=minutes
    )
    assert Order.objects.get(pk=response.json()["id"]).placed_at == expected


def test_list_by_customer_and_by_whole_days(api_as: Any, org: Any, owner: Any, store1: Any) -> None:
    chen, wang = make_customer(org), make_customer(org)
    # Shop time (Asia/Shanghai): 1 March 00:30, 1 March 23:50, 2 March 00:10, and one for wang.
    times = [datetime(2024, 3, 1, 0, 30), datetime(2024, 3, 1, 23, 50), datetime(2024, 3, 2, 0, 10)]
    first, second, third = (
        make_order(chen, store1, placed_at=t.replace(tzinfo=SHANGHAI)) for t in times
    )
    other = make_order(wang, store1, placed_at=datetime(2024, 3, 1, 12, 0, tzinfo=SHANGHAI))
    api = api_as(owner)

    def found(**params: Any) -> list[int]:
        return [o["id"] for o in api.get("/orders", **params).json()["items"]]

    assert found(customer=chen.pk) == [third.pk, second.pk, first.pk]
    assert found(since="2024-03-01", until="2024-03-01") == [second.pk, other.pk, first.pk]
    assert found(customer=chen.pk, since="2024-03-02") == [third.pk]
    assert found(until="2024-02-29") == []


def test_partial_then_whole_refund(
    api_as: Any, org: Any, manager: Any, staff_a: Any, store1: Any
) -> None:
    customer = make_customer(org, owner=staff_a, home_store=store1)
    order = make_order(customer, store1, unit_price="80.00", quantity=3)
    api = api_as(manager)
    partial = api.post(f"/orders/{order.pk}/refunds", {"amount": "50", "reason": "过敏"})
    assert partial.status_code == 201
    assert (partial.json()["amount"], partial.json()["reason"]) == ("50.00", "过敏")
    rest = api.post(f"/orders/{order.pk}/refunds", {})
    assert rest.json()["amount"] == "190.00"  # 240.00 paid - 50.00 already refunded
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, Decimal("240.00"))
    customer.stats.refresh_from_db()
    assert (customer.stats.orders_count, customer.stats.net_spend) == (0, Decimal("0.00"))
    assert AuditEntry.objects.filter(action="refund").count() == 2


def test_refund_by_lines(api_as: Any, org: Any, owner: Any, store1: Any) -> None:
    order = make_order(make_customer(org), store1, unit_price="30.00", quantity=4)
    line = order.lines.get()
    response = api_as(owner).post(
        f"/orders/{order.pk}/refunds", {"lines": [{"line_id": line.pk, "quantity": 1}]}
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "30.00"
    line.refresh_from_db()
    assert line.refunded_quantity == 1


def test_staff_may_not_refund(api_as: Any, org: Any, staff_a: Any, store1: Any) -> None:
    order = make_order(make_customer(org, owner=staff_a), store1)
    response = api_as(staff_a).post(f"/orders/{order.pk}/refunds", {})
    assert response.status_code == 403
    assert Refund.objects.count() == 0


amounts = st.decimals(
    min_value=-10, max_value=10**11, places=2, allow_nan=False, allow_infinity=False
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.tuples(st.integers(-3, 10**6), st.one_of(st.none(), amounts)), min_size=1, max_size=4
    )
)
def test_any_lines_either_add_up_or_write_nothing(
    api_as: Any, org: Any, owner: Any, store1: Any, lines: list[Any]
) -> None:
    product = make_product(org, name="面膜", price="12.50")
    before = (Order.objects.count(), OrderLine.objects.count())
    body = {
        "lines": [
            {
                "product_id": product.pk,
                "quantity": q,
                **({"unit_price": str(p)} if p is not None else {}),
            }
            for q, p in lines
        ]
    }
    response = api_as(owner).post("/orders", body)
    valid = all(1 <= q <= 100_000 and (p is None or 0 <= p < 10**10) for q, p in lines)
    expected = (
        sum((q * (p if p is not None else Decimal("12.50")) for q, p in lines), Decimal("0"))
        if valid
        else None
    )
    if not valid or expected > Decimal("9999999999.99"):
        assert response.status_code == 422, response.json()
        assert (Order.objects.count(), OrderLine.objects.count()) == before
        return
    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["gross_amount"]) == expected
