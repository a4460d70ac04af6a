"""Every error class answers problem details (RFC 9457) with a stable code, in the caller's language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from huitouke.loyalty import coupons
from huitouke.loyalty.models import CouponKind, CouponTemplate
from huitouke.sales.models import Order
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "code", "status", "title", "detail", "errors"}
    assert body["type"] == f"urn:huitouke:problem:{code}"
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unreadable_json(api_as: Any, owner: Any) -> None:
    problem(api_as(owner).post("/customers", b"{not json"), 400, "invalid_json")


def test_no_token(client: Client) -> None:
    response = client.get("/api/v1/customers", headers={"Authorization": "Bearer nope"})
    body = problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["errors"] == []


def test_role_not_allowed(api_as: Any, staff_a: Any) -> None:
    problem(api_as(staff_a).post("/categories", {"name": "面膜"}), 403, "forbidden")


def test_out_of_scope_is_not_found(api_as: Any, org: Any, staff_a: Any, staff_b: Any) -> None:
    theirs = make_customer(org, actor=staff_b, owner=staff_b)
    problem(api_as(staff_a).get(f"/customers/{theirs.pk}"), 404, "not_found")


def test_validation_names_field_paths(api_as: Any, owner: Any, store1: Any) -> None:
    body = problem(
        api_as(owner).post(
            "/orders", {"store_id": store1.pk, "lines": [{"name": "卡", "quantity": "many"}]}
        ),
        422,
        "validation_failed",
    )
    assert {"field": "lines.0.quantity", "message": "Enter a whole number."} in body["errors"]


def test_titles_and_details_in_chinese(api_as: Any, owner: Any, store1: Any) -> None:
    english = api_as(owner).post("/orders", {"store_id": store1.pk, "lines": "x"}).json()
    chinese = api_as(owner, "zh-hans").post("/orders", {"store_id": store1.pk, "lines": "x"})
    assert chinese["Content-Language"] == "zh-hans"
    body = problem(chinese, 422, "validation_failed")
    assert body["code"] == english["code"]
    assert body["title"] != english["title"] and any(
        "\u4e00" <= c <= "\u9fff" for c in body["title"]
    )
    assert body["detail"] != english["detail"]


def test_a_duplicate_external_order_number_is_a_conflict(
    api_as: Any, org: Any, owner: Any, store1: Any
) -> None:
    order = {
        "store_id": store1.pk,
        "external_id": "POS-1",
        "lines": [{"name": "卡", "quantity": 1, "unit_price": "9"}],
    }
    api = api_as(owner)
    assert api.post("/orders", order).status_code == 201
    body = problem(api.post("/orders", order), 409, "duplicate_external_id")
    assert body["errors"][0]["field"] == "external_id"
    assert Order.objects.count() == 1


def test_a_duplicate_customer_number_is_a_conflict(api_as: Any, owner: Any) -> None:
    api = api_as(owner)
    assert api.post("/customers", {"name": "陈静", "external_id": "C-1"}).status_code == 201
    body = problem(
        api.post("/customers", {"name": "王芳", "external_id": "C-1"}), 409, "duplicate_external_id"
    )
    assert body["errors"][0]["field"] == "external_id"


def test_a_used_coupon_is_a_conflict(api_as: Any, org: Any, owner: Any) -> None:
    customer = make_customer(org, actor=owner)
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
    )
    coupon = coupons.do_issue_coupon(template, customer, actor=owner)
    api = api_as(owner)
    redeem = {"code": coupon.code, "customer_id": customer.pk}
    assert api.post("/coupons/redeem", redeem).status_code == 200
    body = problem(api.post("/coupons/redeem", redeem), 409, "coupon_already_redeemed")
    assert body["errors"] == [{"field": "code", "message": "This coupon has already been used."}]


def test_every_operation_declares_its_problems(client: Client, db: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            declared = set(operation["responses"])
            assert {"401", "403", "404", "422"} <= declared, (method, path)
            if method in ("post", "patch"):
                assert {"400", "409"} <= declared, (method, path)
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, (method, path)
            content = operation["responses"]["422"]["content"]
            assert list(content) == ["application/problem+json"]
