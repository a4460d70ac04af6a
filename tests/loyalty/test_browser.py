"""In the browser: a sale with a coupon and points on the quick order screen, and what it changes.

Playwright runs in a thread of its own, so this test can share a session with tests/e2e, whose
session-wide browser already runs Playwright's event loop in the main thread.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.e2e.conftest import ARGS, CHROMIUM, log_in
from tests.helpers import PASSWORD, make_customer, make_order, make_product

from huitouke.loyalty import coupons
from huitouke.loyalty.models import CouponKind, CouponStatus, CouponTemplate, LoyaltyAccount
from huitouke.sales.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def in_browser(base_url: str, steps: Callable[[Any], Any]) -> Any:
    """Run `steps(page)` in a fresh headless chromium on a thread of its own; return its result."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    outcome: dict[str, Any] = {}

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": 390, "height": 844}
                )
                page = context.new_page()
                page.set_default_timeout(15000)
                page.base_url = base_url
                outcome["value"] = steps(page)
                browser.close()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_sale_with_a_coupon_and_points(live_server, org, store1, staff_a):
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
    sale = f"/sales/order/new/?customer={customer.pk}"

    def record_the_sale(page: Any) -> str:
        log_in(page, "staff_a", PASSWORD)
        page.goto(page.base_url + sale)
        before = page.inner_text("[data-testid=benefits]")
        page.fill("input[name=lines-0-item]", "玫瑰")
        page.click("[data-pick-product]:has-text('玫瑰面膜')")
        page.fill("input[name=lines-0-quantity]", "2")
        page.click(f"label[data-coupon='{coupon.code}']")
        page.fill("#id_points", "500")
        # 200 → Silver 9.5折 190 → coupon −30 → 160 → 500 points −¥5 → 155.
        # expect(), not wait_for_function: the CSP forbids the string eval that one uses.
        expect(page.locator("[data-testid=net-total]")).to_have_text("¥155.00")
        page.click("[data-testid=save-order]")
        page.wait_for_url(page.base_url + f"/customers/{customer.pk}/")
        return before

    assert "990" in in_browser(live_server.url, record_the_sale)
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

    def look_again(page: Any) -> tuple[str, bool, str, str]:
        log_in(page, "staff_a", PASSWORD)
        page.goto(page.base_url + sale)
        page.wait_for_selector("[data-testid=checkout-summary]")
        fields = page.inner_text("[data-testid=benefits]")
        coupon_gone = page.query_selector("[data-testid=coupon-choices]") is None
        summary = page.inner_text("#checkout-summary")
        page.goto(page.base_url + f"/loyalty/customers/{customer.pk}/points/")
        return fields, coupon_gone, summary, page.inner_text("[data-testid=points-entries]")

    fields, coupon_gone, summary, history = in_browser(live_server.url, look_again)
    # Her next sale shows the new balance and tier, and the used coupon is gone.
    assert "676" in fields and coupon_gone and account.tier.name in summary
    assert "+186" in history and "-500" in history
