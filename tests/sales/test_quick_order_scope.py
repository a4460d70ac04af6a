"""The quick order's phone lookup goes through the scope: another store's customer is "not yours"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from tests.helpers import make_customer, make_order, make_product

from huitouke.loyalty import coupons
from huitouke.loyalty.models import Coupon, CouponKind, CouponTemplate, LoyaltyAccount
from huitouke.loyalty.program import ensure_program
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db


def form(store, phone: str, coupon: str, product, points: str = "0") -> dict[str, object]:
    return {
        "phone": phone,
        "name": "",
        "store": store.pk,
        "discount": "0",
        "coupon": coupon,
        "points": points,
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": product.pk,
        "lines-0-quantity": "2",
        "lines-0-unit_price": "100.00",
    }


def test_staff_of_store_2_cannot_use_store_1s_customer_by_phone(
    org, store1, store2, owner, staff_a, staff_c
):
    ensure_program(org)
    lin = make_customer(org, name="林晓雨", phone="13800138000", owner=staff_a, home_store=store1)
    make_order(lin, store1, unit_price="1000.00")  # points to spend
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
    )
    coupon = coupons.do_issue_coupon(template, lin, actor=owner)
    balance = LoyaltyAccount.objects.get(customer=lin).balance
    orders = Order.objects.count()
    product = make_product(org, name="玫瑰面膜", price="100.00")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff_c)
    data = form(store2, "138 0013 8000", coupon.code, product, points="500")

    preview = client.post(reverse("loyalty:checkout_preview"), data, HTTP_HX_REQUEST="true")
    assert "林晓雨" not in preview.content.decode()

    response = client.post(reverse("sales:quick_order"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "not yours" in page and "小美" in page  # whom to ask
    assert "林晓雨" not in page
    assert Order.objects.count() == orders
    assert Coupon.objects.filter(pk=coupon.pk, order__isnull=True).exists()
    assert LoyaltyAccount.objects.get(customer=lin).balance == balance

    # Her own staff still can.
    client.force_login(staff_a)
    response = client.post(
        reverse("sales:quick_order"), form(store1, "13800138000", coupon.code, product)
    )
    assert response.status_code == 302
    assert Order.objects.filter(customer=lin).count() == 2
