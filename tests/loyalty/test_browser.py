"""In the browser: a sale with a coupon and points on the quick order screen, and what it changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer, make_order, make_product

from huitouke.loyalty import coupons
from huitouke.loyalty.models import CouponKind, CouponStatus, CouponTemplate, LoyaltyAccount
from huitouke.sales.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sale_with_a_coupon_and_points(page, org, store1, staff_a):
    customer = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    make_order(customer, store1, unit_price="990.00")  # Silver (9.5折), 990 points
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
    )
    coupon = coupons.do_issue_coupon(template, customer, actor=None)
    make_product(org, name="玫瑰面膜", price="100.00")
    log_in(page, "staff_a", PASSWORD)

    page.goto(page.base_url + f"/sales/order/new/?customer={customer.pk}")
    assert "990" in page.inner_text("[data-checkout]")
    page.select_option("select[name=lines-0-product]", label="玫瑰面膜 · ¥100.00")
    page.fill("input[name=lines-0-quantity]", "2")
    page.select_option("[data-testid=coupon-select]", value=coupon.code)
    page.fill("#id_points", "500")
    # 200 → Silver 9.5折 190 → coupon −30 → 160 → 500 points −¥5 → 155.
    page.wait_for_function(
        "document.querySelector('[data-testid=net-total]')?.textContent.trim() === '¥155.00'"
    )
    page.click("[data-testid=save-order]")
    page.wait_for_url(page.base_url + f"/customers/{customer.pk}/")

    order = Order.objects.filter(customer=customer).latest("id")
    assert (order.net_paid, order.coupon_amount, order.points_used) == (
        Decimal("155.00"),
        Decimal("30.00"),
        500,
    )
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    account = LoyaltyAccount.objects.select_related("tier").get(pk=customer.pk)
    assert account.balance == 990 - 500 + 186  # 155 × 1.2 earned at Silver
    assert account.tier.name == "Gold"  # 990 + 155 in 12 months

    # Her next sale shows the new balance and tier, and the used coupon is gone.
    page.goto(page.base_url + f"/sales/order/new/?customer={customer.pk}")
    assert "676" in page.inner_text("[data-checkout]")
    assert page.query_selector("[data-testid=coupon-select]") is None
    page.wait_for_selector("[data-testid=checkout-summary]")
    assert "Gold" in page.inner_text("#checkout-summary")
    page.goto(page.base_url + f"/loyalty/customers/{customer.pk}/points/")
    history = page.inner_text("[data-testid=points-entries]")
    assert "+186" in history and "-500" in history
