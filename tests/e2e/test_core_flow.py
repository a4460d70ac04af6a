"""Log in, create a customer, record an order for her, see stats and timeline; scoping in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer, make_product

from huitouke.customers.models import Customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_customer_record_order_and_see_stats(page, staff_a, org, store1):
    make_product(org, name="玫瑰面膜", price="88.00", cost="30.00")
    log_in(page, "staff_a", PASSWORD)

    # Create a customer (on a phone-sized screen: open the menu first).
    page.goto(page.base_url + "/customers/new/")
    page.fill("#id_name", "林晓雨")
    page.fill("#id_phone", "138 0013 8000")
    page.fill("#id_tags_text", "VIP, 敏感肌")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('林晓雨')")
    customer = Customer.objects.get(name="林晓雨")
    assert customer.phone == "+8613800138000"
    assert customer.owner_id == staff_a.pk
    assert page.inner_text("[data-testid=orders-count]") == "0"

    # Record an order for her from her page.
    page.click("text=记录消费")
    # The product search listens through htmx, which starts once the deferred scripts ran.
    page.wait_for_url("**/sales/order/new/**")
    page.wait_for_load_state("load")
    page.fill("input[name=lines-0-item]", "玫瑰")
    page.click("[data-pick-product]:has-text('玫瑰面膜')")
    page.fill("input[name=lines-0-quantity]", "2")
    expect(page.locator("[data-testid=live-total]")).to_have_text("¥176.00")
    page.click("[data-testid=save-order]")
    page.wait_for_selector("[data-testid=timeline]")

    assert page.inner_text("[data-testid=orders-count]") == "1"
    assert page.inner_text("[data-testid=net-spend]") == "¥176.00"
    assert "玫瑰面膜 × 2" in page.inner_text("[data-testid=timeline]")


def test_invalid_phone_shows_a_clear_message_and_saves_nothing(page, staff_a):
    log_in(page, "staff_a", PASSWORD)
    page.goto(page.base_url + "/customers/new/")
    page.fill("#id_name", "错号")
    page.fill("#id_phone", "12345")
    page.click("button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert "12345" in page.inner_text(".errorlist")
    assert not Customer.objects.filter(name="错号").exists()


def test_staff_cannot_open_another_staff_members_customer(page, staff_a, staff_b, org):
    theirs = make_customer(org, owner=staff_b, name="别人的客户")
    log_in(page, "staff_a", PASSWORD)
    response = page.goto(page.base_url + f"/customers/{theirs.pk}/")
    assert response.status == 404
    page.goto(page.base_url + "/customers/?q=别人的客户")
    assert "别人的客户" not in page.inner_text("#rows")
