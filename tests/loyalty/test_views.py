"""Loyalty screens and the quick order with member benefits, for each role; out-of-scope ids answer 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from tests.helpers import make_customer, make_order, make_product

from huitouke.loyalty import coupons
from huitouke.loyalty.actions import do_adjust_points, ensure_program
from huitouke.loyalty.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltySettings,
    PointsEntry,
    Tier,
)
from huitouke.loyalty.queries import customer_panel_context
from huitouke.sales.models import Order


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # English messages, whatever catalogues are compiled
    client.force_login(user)
    return client


@pytest.fixture
def template(org):
    return CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
        per_customer_limit=None,
    )


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_pages_render_for_the_roles_allowed(org, store1, owner, manager, staff_a, template, lang):
    headers = {"HTTP_ACCEPT_LANGUAGE": lang}
    c = make_customer(org, owner=staff_a, home_store=store1)
    for user, allowed in [
        (owner, {"settings", "coupons", "template_create", "issue"}),
        (manager, {"coupons", "issue"}),
        (staff_a, set()),
    ]:
        client = logged_in(user)
        for name in ("settings", "coupons", "template_create", "issue"):
            status = client.get(reverse(f"loyalty:{name}"), **headers).status_code
            assert status == (200 if name in allowed else 403), (user, name)
        assert client.get(reverse("loyalty:history", args=[c.pk]), **headers).status_code == 200
        assert (
            client.get(reverse("sales:quick_order") + f"?customer={c.pk}", **headers).status_code
            == 200
        )


def test_owner_changes_the_rules_and_a_tier(org, owner):
    ensure_program(org)
    client = logged_in(owner)
    page = client.get(reverse("loyalty:settings"))
    tiers = list(Tier.objects.filter(organisation=org))
    data = {
        "rules-points_per_yuan": "2",
        "rules-birthday_multiplier": "3",
        "rules-points_per_yuan_redeemed": "50",
        "rules-max_points_share": "30",
        "rules-expiry_policy": "months",
        "rules-expiry_months": "6",
        "tiers-TOTAL_FORMS": str(len(tiers) + 1),
        "tiers-INITIAL_FORMS": str(len(tiers)),
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "20",
    }
    for i, t in enumerate(tiers):
        data.update(
            {
                f"tiers-{i}-id": str(t.pk),
                f"tiers-{i}-name": t.name,
                f"tiers-{i}-threshold": str(t.threshold),
                f"tiers-{i}-price_rate": str(t.price_rate),
                f"tiers-{i}-points_multiplier": str(t.points_multiplier),
            }
        )
    data["tiers-2-threshold"] = "800"  # Gold from 800
    assert page.status_code == 200
    response = client.post(reverse("loyalty:settings"), data)
    assert response.status_code == 302, (
        response.context["form"].errors,
        response.context["tiers"].errors,
        response.context["tiers"].non_form_errors(),
    )
    rules = LoyaltySettings.objects.get(organisation=org)
    assert (
        rules.points_per_yuan,
        rules.points_per_yuan_redeemed,
        rules.max_points_share,
        rules.expiry_months,
    ) == (Decimal("2"), 50, 30, 6)
    assert Tier.objects.get(organisation=org, name="Gold").threshold == Decimal("800")
    data["tiers-3-threshold"] = "800"  # two tiers at 800: refused
    assert client.post(reverse("loyalty:settings"), data).status_code == 200
    assert Tier.objects.get(organisation=org, name="Diamond").threshold == Decimal("5000")


def test_owner_creates_a_coupon_and_a_manager_issues_it_to_a_list(org, store1, owner, manager):
    ensure_program(org)
    response = logged_in(owner).post(
        reverse("loyalty:template_create"),
        {
            "name": "回头礼",
            "kind": "amount_off",
            "amount": "30",
            "threshold": "150",
            "validity": "days",
            "valid_days": "14",
            "per_customer_limit": "1",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    template = CouponTemplate.objects.get(name="回头礼")
    bad = logged_in(owner).post(
        reverse("loyalty:template_create"),
        {
            "name": "x",
            "kind": "amount_off",
            "amount": "30",
            "threshold": "20",
            "validity": "days",
            "valid_days": "14",
        },
    )
    assert bad.status_code == 200 and "at least the amount off" in bad.content.decode()
    a = make_customer(org, home_store=store1, phone="13800138001")
    b = make_customer(org, home_store=store1, phone="13800138002", external_id="VIP-7")
    response = logged_in(manager).post(
        reverse("loyalty:issue"),
        {"template": template.pk, "customers": "138 0013 8001\nVIP-7\n13800138001\n13999999999"},
        follow=True,
    )
    assert {c.customer_id for c in Coupon.objects.filter(template=template)} == {a.pk, b.pk}
    text = response.content.decode()
    assert "2 coupons issued." in text and "13999999999" in text
    listing = logged_in(manager).get(reverse("loyalty:coupons")).content.decode()
    assert "回头礼" in listing and "¥30 off orders of ¥150" in listing


def test_quick_order_with_a_coupon_and_points(org, store1, staff_a, owner, template):
    ensure_program(org)
    c = make_customer(org, owner=staff_a, home_store=store1)
    make_order(c, store1, unit_price="1000.00")  # Gold, 1000 points
    coupon = coupons.do_issue_coupon(template, c, actor=owner)
    product = make_product(org, name="玫瑰面膜", price="100.00")
    client = logged_in(staff_a)
    page = client.get(reverse("sales:quick_order") + f"?customer={c.pk}").content.decode()
    assert coupon.code in page and "Balance: 1000 points" in page
    form = {
        "customer": c.pk,
        "store": store1.pk,
        "discount": "0",
        "coupon": coupon.code,
        "points": "500",
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": product.pk,
        "lines-0-quantity": "2",
        "lines-0-unit_price": "100.00",
    }
    preview = client.post(
        reverse("loyalty:checkout_preview"), form, HTTP_HX_REQUEST="true"
    ).content.decode()
    # 200 → Gold 8.8折 176 → −30 → 146 → 500 points −5 → 141.
    assert "¥141.00" in preview and "Gold member price (8.8折)" in preview
    response = client.post(reverse("sales:quick_order"), form)
    assert response.status_code == 302
    order = Order.objects.get(pk__in=c.orders.values("pk"), coupon_amount__gt=0)
    assert (order.net_paid, order.points_used) == (Decimal("141.00"), 500)
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    # The same coupon again: refused on the form, nothing recorded.
    again = client.post(reverse("sales:quick_order"), form)
    assert again.status_code == 200 and "already been used" in again.content.decode()
    assert c.orders.count() == 2


def test_quick_order_without_a_customer_ignores_nothing(org, store1, staff_a):
    product = make_product(org)
    form = {
        "store": store1.pk,
        "discount": "0",
        "coupon": "",
        "points": "10",
        "phone": "",
        "name": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": product.pk,
        "lines-0-quantity": "1",
    }
    response = logged_in(staff_a).post(reverse("sales:quick_order"), form)
    assert response.status_code == 200 and "need a customer" in response.content.decode()
    assert Order.objects.count() == 0


def test_customer_panel(org, store1, manager, template):
    c = make_customer(org, home_store=store1)
    make_order(c, store1, unit_price="990.00")
    coupon = coupons.do_issue_coupon(template, c, actor=manager)
    request = RequestFactory().get("/")
    request.user = manager
    html = render_to_string(
        "loyalty/_customer_panel.html",
        {**customer_panel_context(c), "user": manager},
        request=request,
    )
    assert "Spend 10 yuan more to reach Gold" in html
    assert ">990<" in html and coupon.code in html and "Silver" in html


def test_adjusting_points_and_voiding_coupons_need_a_manager_in_scope(
    org, store1, staff_a, staff_c, manager, template
):
    c = make_customer(org, owner=staff_a, home_store=store1)
    coupon = coupons.do_issue_coupon(template, c, actor=manager)
    adjust = reverse("loyalty:adjust", args=[c.pk])
    assert logged_in(staff_a).post(adjust, {"points": "50", "reason": "x"}).status_code == 403
    assert (
        logged_in(manager).post(adjust, {"points": "50", "reason": "门店活动"}).status_code == 302
    )
    assert (
        logged_in(manager).post(adjust, {"points": "-80", "reason": "typo"}).status_code == 302
    )  # refused with a message
    assert list(PointsEntry.objects.filter(customer=c).values_list("points", flat=True)) == [50]
    void = reverse("loyalty:void", args=[coupon.pk])
    assert logged_in(staff_a).post(void).status_code == 403
    assert logged_in(manager).post(void, {"reason": "错发"}).status_code == 302
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.VOID
    # staff C (store 2) does not see staff A's customer at all.
    assert logged_in(staff_c).get(reverse("loyalty:history", args=[c.pk])).status_code == 404


def test_managers_cannot_touch_customers_outside_their_store(
    org, store2, manager, staff_c, template
):
    theirs = make_customer(org, owner=staff_c, home_store=store2)
    coupon = coupons.do_issue_coupon(template, theirs, actor=None)
    do_adjust_points(theirs, points=10, reason="x", actor=None)
    client = logged_in(manager)
    assert (
        client.post(
            reverse("loyalty:adjust", args=[theirs.pk]), {"points": "5", "reason": "x"}
        ).status_code
        == 404
    )
    assert client.post(reverse("loyalty:void", args=[coupon.pk])).status_code == 404
    client.post(reverse("loyalty:issue"), {"template": template.pk, "customer": theirs.pk})
    assert Coupon.objects.filter(customer=theirs).count() == 1
