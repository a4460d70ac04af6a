"""API: members' standing, points awards and redemptions, issuing and redeeming coupons; scope and roles."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from tests.helpers import make_customer, make_order

from huitouke.accounts.tokens import create_api_token
from huitouke.loyalty import coupons
from huitouke.loyalty.models import (
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
)


def client_for(user) -> Client:
    token = create_api_token(user, "test", actor=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def template(org):
    return CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
        quota=2,
    )


def test_member_standing(org, store1, staff_a):
    c = make_customer(org, owner=staff_a, home_store=store1)
    make_order(c, store1, unit_price="990.00")
    body = client_for(staff_a).get(f"/api/v1/customers/{c.pk}/loyalty").json()
    assert (body["tier"]["name"], body["next_tier"]["name"], body["gap"], body["points"]) == (
        "Silver",
        "Gold",
        "10.00",
        990,
    )
    assert body["gap_message"] == "Spend 10 yuan more to reach Gold"


def test_award_is_for_managers_and_redeem_refuses_overspending(org, store1, staff_a, manager):
    c = make_customer(org, owner=staff_a, home_store=store1)
    path = f"/api/v1/customers/{c.pk}/points"
    assert (
        client_for(staff_a)
        .post(f"{path}/award", {"points": 100, "reason": "x"}, content_type="application/json")
        .status_code
        == 403
    )
    response = client_for(manager).post(
        f"{path}/award", {"points": 100, "reason": "生日礼"}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["balance_after"] == 100
    too_many = client_for(staff_a).post(
        f"{path}/redeem", {"points": 101}, content_type="application/json"
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"] == [
        {"field": "points", "message": "Not enough points: the balance is 100, 101 requested."}
    ]
    assert (
        client_for(staff_a)
        .post(f"{path}/redeem", {"points": -1}, content_type="application/json")
        .status_code
        == 422
    )
    ok = client_for(staff_a).post(
        f"{path}/redeem", {"points": 40, "reason": "换购"}, content_type="application/json"
    )
    assert ok.status_code == 201 and ok.json()["points"] == -40
    page = client_for(staff_a).get(path).json()
    assert [e["points"] for e in page["items"]] == [-40, 100]


def test_customers_outside_the_scope_do_not_exist(
    org, store1, staff_a, staff_c, other_owner, template
):
    c = make_customer(org, owner=staff_a, home_store=store1)
    for user in (staff_c, other_owner):
        assert client_for(user).get(f"/api/v1/customers/{c.pk}/loyalty").status_code == 404
        assert (
            client_for(user)
            .post(
                f"/api/v1/customers/{c.pk}/points/redeem",
                {"points": 1},
                content_type="application/json",
            )
            .status_code
            == 404
        )
    assert (
        client_for(other_owner)
        .post(
            f"/api/v1/coupon-templates/{template.pk}/issue",
            {"customer_ids": [c.pk]},
            content_type="application/json",
        )
        .status_code
        == 404
    )


def test_issue_then_redeem_once(org, store1, owner, manager, staff_a, template):
    people = [
        make_customer(org, owner=staff_a, home_store=store1, name=f"客户{i}") for i in range(3)
    ]
    issued = client_for(manager).post(
        f"/api/v1/coupon-templates/{template.pk}/issue",
        {"customer_ids": [p.pk for p in people]},
        content_type="application/json",
    )
    assert issued.status_code == 201
    body = issued.json()
    assert [c["customer_id"] for c in body["issued"]] == [people[0].pk, people[1].pk]
    assert body["skipped"] == [
        {"customer_id": people[2].pk, "message": "All 2 coupons of this kind have been issued."}
    ]
    code = body["issued"][0]["code"]
    redeem = {"code": code, "customer_id": people[0].pk}
    first = client_for(staff_a).post(
        "/api/v1/coupons/redeem", redeem, content_type="application/json"
    )
    assert first.status_code == 200 and first.json()["status"] == CouponStatus.REDEEMED
    again = client_for(staff_a).post(
        "/api/v1/coupons/redeem", redeem, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["code"] == "coupon_already_redeemed"
    assert again.json()["errors"] == [
        {"field": "code", "message": "This coupon has already been used."}
    ]
    wrong = client_for(staff_a).post(
        "/api/v1/coupons/redeem",
        {"code": body["issued"][1]["code"], "customer_id": people[0].pk},
        content_type="application/json",
    )
    assert wrong.json()["detail"] == "This coupon belongs to another customer."
    assert client_for(staff_a).get("/api/v1/coupon-templates").status_code == 403
    assert [
        t["issued_count"] for t in client_for(owner).get("/api/v1/coupon-templates").json()
    ] == [2]


def test_void_by_code(org, store1, owner, staff_a, template):
    c = make_customer(org, owner=staff_a, home_store=store1)
    coupon = coupons.do_issue_coupon(template, c, actor=owner)
    assert (
        client_for(staff_a)
        .post("/api/v1/coupons/void", {"code": coupon.code}, content_type="application/json")
        .status_code
        == 403
    )
    response = client_for(owner).post(
        "/api/v1/coupons/void",
        {"code": coupon.code, "reason": "错发"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "void"
    listed = client_for(staff_a).get(f"/api/v1/customers/{c.pk}/coupons").json()
    assert [(x["code"], x["status"], x["description"]) for x in listed] == [
        (coupon.code, "void", "¥30 off orders of ¥150")
    ]
    assert LoyaltyAccount.objects.filter(pk=c.pk).exists()
    assert PointsEntry.objects.count() == 0
