"""Bad input gets a clear message naming the field, in the caller's language, and writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.helpers import make_customer, make_order, make_product

from huitouke.customers.models import Customer, Interaction
from huitouke.sales.models import Order, OrderLine, Refund

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        Order.objects.count(),
        OrderLine.objects.count(),
        Refund.objects.count(),
        Interaction.objects.count(),
    )


def refused(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


def field_errors(body: dict[str, Any]) -> dict[str | None, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


def test_an_invalid_phone(api_as: Any, owner: Any) -> None:
    before = rows()
    body = refused(api_as(owner).post("/customers", {"name": "陈静", "phone": "12345"}))
    assert field_errors(body) == {"phone": "Mobile: “12345” is not a valid phone number."}
    assert rows() == before


def test_a_duplicate_phone_names_the_customer_who_has_it(api_as: Any, org: Any, owner: Any) -> None:
    make_customer(org, name="王芳", phone="13812345678")
    before = rows()
    body = refused(api_as(owner).post("/customers", {"name": "陈静", "phone": "+86 138-1234-5678"}))
    assert "王芳" in field_errors(body)["phone"]
    assert rows() == before


def test_a_duplicate_phone_on_edit(api_as: Any, org: Any, owner: Any) -> None:
    make_customer(org, name="王芳", phone="13812345678")
    chen = make_customer(org, name="陈静", phone="13900000001")
    refused(api_as(owner).patch(f"/customers/{chen.pk}", {"phone": "13812345678"}))
    chen.refresh_from_db()
    assert chen.phone == "+8613900000001"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": -1, "name": "剪发", "unit_price": "10"}, "lines.0.quantity"),
        ({"quantity": 0, "name": "剪发", "unit_price": "10"}, "lines.0.quantity"),
        ({"quantity": "abc", "name": "剪发", "unit_price": "10"}, "lines.0.quantity"),
        ({"quantity": 1, "name": "剪发", "unit_price": "-5"}, "lines.0.unit_price"),
        ({"quantity": 1, "name": "剪发", "unit_price": "1.234"}, "lines.0.unit_price"),
        ({"quantity": 1, "name": "剪发"}, "lines"),
        ({"quantity": 1}, "lines"),
        ({"quantity": 1, "product_id": 987654}, "lines"),
    ],
)
def test_bad_order_lines(
    api_as: Any, org: Any, owner: Any, line: dict[str, Any], field: str
) -> None:
    customer = make_customer(org)
    before = rows()
    body = refused(api_as(owner).post("/orders", {"customer_id": customer.pk, "lines": [line]}))
    assert field in field_errors(body)
    assert rows() == before
    customer.stats.refresh_from_db()
    assert customer.stats.orders_count == 0


def test_unknown_product_says_which_line(api_as: Any, org: Any, owner: Any) -> None:
    product = make_product(org)
    lines = [
        {"product_id": product.pk, "quantity": 1},
        {"product_id": product.pk + 1000, "quantity": 1},
    ]
    body = refused(api_as(owner).post("/orders", {"lines": lines}))
    assert field_errors(body) == {"lines": f"Line 2: unknown product {product.pk + 1000}."}
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{bad json",
        b'{"name": "x",}',
        b'{"name": "x", "budget": NaN}',
        b'{"name": "x", "budget": 1e999}',
        b"[1, 2]",
        b'"x"',
    ],
)
def test_malformed_json(api_as: Any, owner: Any, raw: bytes) -> None:
    before = rows()
    body = refused(api_as(owner).post("/customers", raw), 400)
    assert body["detail"] == "The request body is not a valid JSON object."
    assert rows() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": 123}, "name"),
        ({"name": ["陈"]}, "name"),
        ({"name": "陈静", "birth_month": "March"}, "birth_month"),
        ({"name": "陈静", "birth_month": 13}, "birth_month"),
        ({"name": "陈静", "consent_sms": "perhaps"}, "consent_sms"),
        ({"name": "陈静", "gender": "x"}, "gender"),
        ({"name": "陈静", "tags": "VIP"}, "tags"),
        ({"name": "陈静", "owner_id": "me"}, "owner_id"),
        ({"name": "陈静", "email": "not-an-email"}, "email"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "   "}, "name"),
        ({}, "name"),
    ],
)
def test_wrong_types_and_values(
    api_as: Any, owner: Any, payload: dict[str, Any], field: str
) -> None:
    before = rows()
    body = refused(api_as(owner).post("/customers", payload))
    assert field in field_errors(body), body
    assert rows() == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/customers/abc", "customer_id"),
        ("/customers/0", "customer_id"),
        ("/orders/99999999999999999999", "order_id"),
        ("/customers?limit=0", "limit"),
        ("/orders?since=yesterday", "since"),
    ],
)
def test_bad_ids_and_query_parameters(api_as: Any, owner: Any, path: str, field: str) -> None:
    assert field in field_errors(refused(api_as(owner).get(path)))


def test_a_refund_larger_than_the_order(api_as: Any, org: Any, owner: Any, store1: Any) -> None:
    customer = make_customer(org)
    order = make_order(customer, store1, unit_price="100.00")
    make_refund = api_as(owner).post
    body = refused(make_refund(f"/orders/{order.pk}/refunds", {"amount": "100.01"}))
    assert field_errors(body) == {
        "amount": "The refund (¥100.01) exceeds what is left on the order (¥100.00)."
    }
    refused(
        make_refund(
            f"/orders/{order.pk}/refunds",
            {"lines": [{"line_id": order.lines.get().pk, "quantity": 2}]},
        )
    )
    refused(make_refund(f"/orders/{order.pk}/refunds", {"amount": "-1"}))
    order.refresh_from_db()
    customer.stats.refresh_from_db()
    assert (order.refunded_amount, Refund.objects.count(), customer.stats.net_spend) == (
        Decimal("0.00"),
        0,
        Decimal("100.00"),
    )


def test_messages_follow_the_callers_language(api_as: Any, owner: Any) -> None:
    chinese = refused(api_as(owner, "zh-hans").post("/customers", {}))
    english = refused(api_as(owner, "en").post("/customers", {}))
    assert field_errors(english) == {"name": "This field is required."}
    assert field_errors(chinese) == {"name": "此项为必填项。"}


def test_an_empty_body(api_as: Any, owner: Any) -> None:
    api = api_as(owner)
    response = api.client.post(
        "/api/v1/customers", "", content_type="application/json", headers=api.headers
    )
    assert field_errors(refused(response)) == {None: "Send a JSON object as the request body."}
