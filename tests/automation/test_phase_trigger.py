"""The trigger "a purchase entered phase X of category Y": once per purchase and phase."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from tests.automation.conftest import local, make_rule
from tests.helpers import make_customer, make_order, make_product

from huitouke.automation import engine
from huitouke.automation.models import Enrolment, Trigger
from huitouke.automation.triggers import clean_params
from huitouke.sales.models import Category

TAG = [{"type": "add_tag", "tag": "reminded"}]


def phase_rule(org: Any, category: Category, phase: str) -> Any:
    return make_rule(
        org,
        trigger=Trigger.PHASE_ENTERED,
        params={"category": category.pk, "phase": phase},
        holdout_share=Decimal("0"),
        actions=TAG,
    )


def keys(rule: Any) -> list[tuple[str, str]]:
    return sorted((e.customer.name, e.occurrence_key) for e in Enrolment.objects.filter(rule=rule))


@pytest.fixture
def beauty(org: Any) -> Any:
    org.industry = "beauty"
    org.save()
    return org


@pytest.mark.django_db
def test_each_purchase_enters_each_phase_once(beauty: Any, store1: Any) -> None:
    masks = Category.objects.create(organisation=beauty, name="面膜")
    mask = make_product(beauty, name="补水面膜", category=masks)
    ending = phase_rule(beauty, masks, "ending")
    dormant = phase_rule(beauty, masks, "dormant")
    wang = make_customer(beauty, name="王丽", home_store=store1)
    chen = make_customer(beauty, name="陈静", home_store=store1)
    zhang = make_customer(beauty, name="张敏", home_store=store1)
    first = make_order(wang, store1, product=mask, placed_at=local(2026, 3, 1, 23, 30))
    make_order(chen, store1, product=mask, placed_at=local(2026, 3, 1, 10))
    make_order(chen, store1, product=mask, placed_at=local(2026, 4, 10, 10))  # bought again
    make_order(
        zhang, store1, product=make_product(beauty, name="精华"), placed_at=local(2026, 3, 1)
    )
    # Day 50 after 1 March is 20 April (in local time: 23:30 is still 1 March in Shanghai).
    for day in (date(2026, 4, 19), date(2026, 4, 20), date(2026, 4, 21)):
        engine.evaluate_rule_day(ending, day)
        engine.evaluate_rule_day(dormant, day)
    assert keys(ending) == [("王丽", f"phase:{masks.pk}:ending:{first.pk}")]
    assert keys(dormant) == []
    # The same day again, or the scheduler's daily pass, acts no more.
    assert engine.evaluate_rule_day(ending, date(2026, 4, 20)) is None
    engine.run_daily(now=local(2026, 4, 21, 10))
    assert len(keys(ending)) == 1
    # Day 70: dormant, once; 陈静's second purchase reaches the reminder on its own day 50.
    engine.evaluate_rule_day(dormant, date(2026, 5, 10))
    engine.evaluate_rule_day(dormant, date(2026, 5, 11))
    assert keys(dormant) == [("王丽", f"phase:{masks.pk}:dormant:{first.pk}")]
    engine.evaluate_rule_day(ending, date(2026, 4, 10) + timedelta(days=50))
    assert [name for name, _key in keys(ending)] == ["王丽", "陈静"]


@pytest.mark.django_db
def test_a_product_with_its_own_phases_enters_them_on_its_own_days(
    beauty: Any, store1: Any
) -> None:
    masks = Category.objects.create(organisation=beauty, name="面膜")
    quick = make_product(
        beauty,
        name="一次性面膜",
        category=masks,
        phase_use_from=1,
        phase_end_from=7,
        phase_dormant_from=14,
    )
    rule = phase_rule(beauty, masks, "ending")
    her = make_customer(beauty, name="王丽", home_store=store1)
    order = make_order(her, store1, product=quick, placed_at=local(2026, 3, 1, 12))
    engine.evaluate_rule_day(rule, date(2026, 4, 20))  # the category's day 50: not hers
    assert keys(rule) == []
    engine.evaluate_rule_day(rule, date(2026, 3, 8))  # the product's day 7
    assert keys(rule) == [("王丽", f"phase:{masks.pk}:ending:{order.pk}")]


@pytest.mark.django_db
def test_the_trigger_needs_a_category_of_hers_and_a_phase(org: Any, other_org: Any) -> None:
    masks = Category.objects.create(organisation=org, name="面膜")
    theirs = Category.objects.create(organisation=other_org, name="面膜")
    assert clean_params(Trigger.PHASE_ENTERED, {"category": masks.pk, "phase": "dormant"}, org) == {
        "category": masks.pk,
        "phase": "dormant",
        "hour": 9,
    }
    for raw in (
        {"category": theirs.pk, "phase": "dormant"},
        {"category": masks.pk, "phase": "x"},
        {},
    ):
        with pytest.raises(ValidationError):
            clean_params(Trigger.PHASE_ENTERED, raw, org)


@pytest.mark.django_db
def test_the_editor_saves_a_phase_rule_and_shows_it_again(
    client: Any, org: Any, owner: Any
) -> None:
    from django.urls import reverse

    from huitouke.automation.models import AutomationRule

    masks = Category.objects.create(organisation=org, name="面膜")
    client.force_login(owner)
    form = {
        "name": "面膜快用完",
        "trigger": "phase_entered",
        "category": str(masks.pk),
        "phase": "ending",
        "hour": "10",
        "delay_minutes": "0",
        "add_tag": "该回购了",
        "holdout_percent": "0",
        "quiet_start": "21:00",
        "quiet_end": "09:00",
        "is_active": "on",
    }
    response = client.post(reverse("automation:create"), form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    rule = AutomationRule.objects.get(name="面膜快用完")
    assert rule.params == {"category": masks.pk, "phase": "ending", "hour": 10}
    html = client.get(reverse("automation:edit", args=[rule.pk])).content.decode()
    assert '<option value="ending" selected>' in html
    missing = client.post(
        reverse("automation:create"),
        {**form, "name": "缺阶段", "phase": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert missing.status_code == 200 and "Choose the phase." in missing.content.decode()
