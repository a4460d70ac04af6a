"""Scripts: surname + 女士/先生, last purchase, tier and points; owner-written templates stay harmless."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from huitouke.followups.scripts import check_script, render_for, render_script, script_contexts
from huitouke.loyalty.models import LoyaltyAccount
from tests.helpers import make_customer, make_order, make_product


def test_salutation_is_surname_and_title(org):
    her = make_customer(org, name="陈静", gender="f")
    him = make_customer(org, name="王建国", gender="m")
    unknown = make_customer(org, name="李雪")
    text = "{{ salutation }}您好"
    assert render_for(text, her) == "陈女士您好"
    assert render_for(text, him) == "王先生您好"
    assert render_for(text, unknown) == "李雪您好"


def test_last_purchase_store_tier_and_points(org, store1, staff_a):
    her = make_customer(org, name="陈静", gender="f", owner=staff_a, home_store=store1)
    make_order(
        her,
        store1,
        product=make_product(org, name="面膜"),
        placed_at=timezone.now() - timedelta(days=30),
    )
    make_order(her, store1, product=make_product(org, name="玻尿酸精华"), unit_price="1200")
    account = LoyaltyAccount.objects.select_related("tier").get(customer=her)
    assert account.tier is not None and account.balance > 0
    text = "{{ salutation }}，您的{{ tier }}有{{ points }}分；上次买了{{ last_purchase }}，{{ store }} {{ staff }}"
    assert render_for(text, her) == (
        f"陈女士，您的{account.tier.name}有{account.balance}分；上次买了玻尿酸精华，万达店 小美"
    )
    # 1,200 yuan in the last 12 months is the 金卡 tier (threshold 1000) of the defaults (DESIGN §4).
    assert account.tier.threshold == Decimal("1000")


def test_a_customer_without_orders_or_membership_gets_empty_values(org):
    her = make_customer(org, name="赵敏", gender="f")
    ctx = script_contexts([her])[her.pk]
    assert ctx["last_purchase"] == "" and ctx["tier"] == "" and ctx["points"] == 0
    assert render_for("{% if last_purchase %}买过{% else %}新朋友{% endif %}", her) == "新朋友"


@pytest.mark.parametrize(
    "template",
    [
        "{% load static %}",
        "{% include 'base.html' %}",
        "{% debug %}",
        "{% url 'dashboard' %}",
        "{{ name|safe }}",
        "{% if %}",
        "{{ name.__class__ }}",
    ],
)
def test_templates_beyond_the_small_language_are_refused(template):
    with pytest.raises(ValidationError, match="cannot be used"):
        check_script(template)


def test_unknown_variables_render_empty_and_nothing_leaks(org, settings):
    her = make_customer(org, name="陈静", gender="f")
    text = "{{ settings.SECRET_KEY }}{{ customer.phone }}{{ request }}{{ name.upper.x }}"
    assert render_for(text, her) == ""


def test_plain_text_is_not_html_escaped():
    assert render_script("{{ a }} & {{ b }}", {"a": "<陈>", "b": "李"}) == "<陈> & 李"


def test_overlong_scripts_are_refused():
    with pytest.raises(ValidationError, match="under"):
        check_script("好" * 2001)
