"""The quick order's lookups and its HTMX form: products by name / SKU / pinyin, customers by
phone, last digits, name or member code (scoped), and a refused order re-shown whole."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.helpers import make_customer, make_order, make_product

from huitouke.customers.passcode import make_pass
from huitouke.loyalty import coupons
from huitouke.loyalty.models import CouponKind, CouponTemplate
from huitouke.sales.models import Order
from huitouke.sales.queries import pinyin_keys, search_products

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def htmx(client: Client, url: str, data=None, method: str = "get"):
    return getattr(client, method)(url, data or {}, HTTP_HX_REQUEST="true")


def order_data(store, **overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "customer": "",
        "phone": "",
        "name": "",
        "store": store.pk,
        "discount": "",
        "coupon": "",
        "points": "",
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": "",
        "lines-0-item": "",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "",
    }
    data.update(overrides)
    return data


def test_pinyin_keys_keep_what_is_not_chinese():
    assert pinyin_keys("玫瑰面膜") == ("meiguimianmo", "mgmm")
    assert pinyin_keys("SK-II 神仙水") == ("sk-iishenxianshui", "sk-iisxs")


def test_products_found_by_name_sku_full_pinyin_and_initials(org, other_org):
    mask = make_product(org, name="玫瑰面膜", price="188.00", sku="MM-188")
    serum = make_product(org, name="玻尿酸精华", price="260.00", sku="JH-260")
    make_product(org, name="玫瑰精油", price="99.00", is_active=False)  # off sale
    make_product(other_org, name="玫瑰面膜", price="1.00")
    assert search_products(org, "玫瑰") == [mask]
    assert search_products(org, "mgmm") == [mask]
    assert search_products(org, "MGMM") == [mask]
    assert search_products(org, "meigui") == [mask]
    assert search_products(org, "jh-260") == [serum]
    assert search_products(org, "bnsjh") == [serum]
    assert search_products(org, "精华") == [serum]
    assert search_products(org, "xyz") == []
    assert set(search_products(org, "")) == {mask, serum}  # nothing typed: products to tap


def test_product_search_endpoint_gives_prices_to_fill_in(org, staff_a):
    make_product(org, name="玫瑰面膜", price="188.00", sku="MM-188")
    page = htmx(
        client_for(staff_a), reverse("sales:product_search"), {"lines-3-item": "mgmm"}
    ).content.decode()
    assert 'data-name="玫瑰面膜"' in page and 'data-price="188.00"' in page and "¥188.00" in page


def test_customer_found_by_last_four_digits_and_name_in_scope_only(
    org, store1, store2, staff_a, staff_c
):
    lin = make_customer(org, name="林晓雨", phone="13800138000", owner=staff_a, home_store=store1)
    make_customer(org, name="林晓雪", phone="13900008000", owner=staff_c, home_store=store2)
    client = client_for(staff_a)
    by_digits = htmx(client, reverse("sales:lookup"), {"phone": "8000"}).content.decode()
    assert "林晓雨" in by_digits and "林晓雪" not in by_digits
    assert f"?customer={lin.pk}" in by_digits
    by_name = htmx(client, reverse("sales:lookup"), {"phone": "林晓"}).content.decode()
    assert "林晓雨" in by_name and "林晓雪" not in by_name


def test_full_phone_of_someone_elses_customer_says_whose(org, store1, store2, staff_a, staff_c):
    make_customer(org, name="王芳", phone="13900139000", owner=staff_c, home_store=store2)
    page = htmx(
        client_for(staff_a), reverse("sales:lookup"), {"phone": "139 0013 9000"}
    ).content.decode()
    assert "not yours" in page and str(staff_c) in page and "王芳" not in page


def test_member_code_chooses_her_at_once_with_her_coupons(org, store1, staff_a, owner):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
    )
    coupon = coupons.do_issue_coupon(template, lin, actor=owner)
    response = htmx(client_for(staff_a), reverse("sales:lookup"), {"phone": make_pass(lin)})
    assert response["HX-Retarget"] == "#qo-customer" and response["HX-Reswap"] == "outerHTML"
    page = response.content.decode()
    assert f'name="customer" value="{lin.pk}"' in page
    assert 'id="qo-benefits" class="card qo-benefits" hx-swap-oob="true"' in page
    assert f'value="{coupon.code}"' in page


def test_expired_member_code_is_refused_in_the_lookup(org, store1, staff_a):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    old = make_pass(lin, now=timezone.now() - timedelta(hours=2))
    response = htmx(client_for(staff_a), reverse("sales:lookup"), {"phone": old})
    assert "HX-Retarget" not in response
    assert "expired" in response.content.decode()


def test_choosing_someone_elses_customer_is_a_404(org, store2, staff_a, staff_c):
    theirs = make_customer(org, name="王芳", owner=staff_c, home_store=store2)
    response = htmx(client_for(staff_a), reverse("sales:quick_customer"), {"customer": theirs.pk})
    assert response.status_code == 404


def test_refused_order_comes_back_as_the_form_with_every_line(org, store1, staff_a):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    mask = make_product(org, name="玫瑰面膜", price="188.00")
    data = order_data(
        store1,
        customer=lin.pk,
        note="下午三点来取",
        discount="5",
        **{
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": mask.pk,
            "lines-0-item": "玫瑰面膜",
            "lines-0-quantity": "2",
            "lines-0-unit_price": "188.00",
            "lines-1-item": "修眉",
            "lines-1-quantity": "1",
        },
    )
    response = htmx(client_for(staff_a), reverse("sales:quick_order"), data, method="post")
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        page.lstrip().startswith("<form") or "<html" not in page
    )  # the form alone, swapped in place
    assert "Enter the unit price." in page
    for kept in (
        f'name="lines-0-product" value="{mask.pk}"',
        'name="lines-0-item" id="id_lines-0-item" value="玫瑰面膜"',
        'value="2"',
        'name="lines-1-item" id="id_lines-1-item" value="修眉"',
        'value="下午三点来取"',
        f'name="customer" value="{lin.pk}"',
    ):
        assert kept in page, kept
    assert Order.objects.filter(customer=lin).count() == 0


def test_saved_order_redirects_the_browser_to_her_page(org, store1, staff_a):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    make_order(lin, store1, unit_price="10.00")
    mask = make_product(org, name="玫瑰面膜", price="188.00")
    data = order_data(store1, customer=lin.pk, **{"lines-0-product": mask.pk})
    response = htmx(client_for(staff_a), reverse("sales:quick_order"), data, method="post")
    assert response["HX-Redirect"] == reverse("customers:detail", args=[lin.pk])
    assert Order.objects.filter(customer=lin, lines__product=mask).count() == 1


def test_a_name_left_in_the_lookup_is_not_taken_for_a_phone(org, store1, staff_a):
    make_product(org, name="玫瑰面膜", price="188.00")
    data = order_data(store1, phone="林晓", **{"lines-0-item": "修眉", "lines-0-unit_price": "30"})
    page = client_for(staff_a).post(reverse("sales:quick_order"), data).content.decode()
    assert "Choose one of the customers found, or type her full mobile number." in page
    assert Order.objects.count() == 0


def test_a_member_code_typed_without_choosing_still_finds_her(org, store1, staff_a):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    data = order_data(
        store1, phone=make_pass(lin), **{"lines-0-item": "修眉", "lines-0-unit_price": "30"}
    )
    response = client_for(staff_a).post(reverse("sales:quick_order"), data)
    assert response.status_code == 302
    assert Order.objects.get().customer_id == lin.pk


def test_the_preview_prices_the_complete_lines_while_one_is_typed(org, store1, staff_a):
    lin = make_customer(org, name="林晓雨", owner=staff_a, home_store=store1)
    mask = make_product(org, name="玫瑰面膜", price="188.00")
    data = order_data(
        store1,
        customer=lin.pk,
        **{
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": mask.pk,
            "lines-0-unit_price": "188.00",
            "lines-1-item": "修眉",
        },
    )
    page = htmx(client_for(staff_a), reverse("loyalty:checkout_preview"), data, method="post")
    assert "¥188.00" in page.content.decode()
