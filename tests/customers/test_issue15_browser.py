"""Issue 15 in the browser: refusals keep what was typed (item 3); salutations (item 10)."""

from __future__ import annotations

from datetime import date

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD

from huitouke.customers.models import Customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_customer_form_refuses_and_keeps_the_typed_values(page, owner):
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/customers/new/")
    page.fill("#id_name", "欧阳晶")
    page.fill("#id_phone", "1381234abcd")
    page.select_option("#id_gender", "f")
    page.fill("#id_birth_year", "1990")
    page.fill("#id_birth_month", "2")
    page.fill("#id_birth_day", "30")
    page.fill("#id_budget", "-5")
    page.click("button[type=submit]")
    page.wait_for_selector("#id_phone_error")
    assert "字母" in page.inner_text("#id_phone_error")
    assert "手机号" in page.inner_text("#id_phone_error")
    assert "1990-02-30" in page.inner_text("#id_birth_day_error")
    assert "预算" in page.inner_text("#id_budget_error")
    assert page.input_value("#id_phone") == "1381234abcd"
    assert page.input_value("#id_birth_day") == "30"
    assert page.input_value("#id_budget") == "-5"
    assert page.input_value("#id_name") == "欧阳晶"
    assert not Customer.objects.filter(name="欧阳晶").exists()

    # Corrected, she is saved and addressed by her compound surname.
    page.fill("#id_phone", "13812341234")
    page.fill("#id_birth_day", "28")
    page.fill("#id_budget", "500")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('欧阳晶')")
    assert "欧阳女士" in page.inner_text("h1")
    customer = Customer.objects.get(name="欧阳晶")
    assert (customer.phone, customer.birth_day, customer.budget) == ("+8613812341234", 28, 500)

    # Staff override the salutation on the form.
    page.goto(page.base_url + f"/customers/{customer.pk}/edit/")
    page.fill("#id_salutation_override", "晶姐")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('晶姐')")


def test_a_childs_future_birthday_is_refused_on_the_customer_page(page, owner, org):
    from tests.helpers import make_customer

    customer = make_customer(org, name="陈静")
    family = "form[action$='/family/']"
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + f"/customers/{customer.pk}/")
    page.click("summary:has-text('添加家庭成员')")
    page.select_option(family + " #id_relation", "child")
    page.fill(family + " #id_name", "小宝")
    page.fill(family + " #id_birth_year", str(date.today().year + 1))
    page.fill(family + " #id_birth_month", "1")
    page.fill(family + " #id_birth_day", "1")
    page.click(family + " button[type=submit]")
    page.wait_for_selector("details[open] .errorlist")
    assert "将来" in page.inner_text("details[open] .errorlist")
    assert page.input_value(family + " #id_name") == "小宝"
    assert not customer.family.exists()
