"""The SOP trigger "a purchase entered phase X of category Y": one task per purchase and phase."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from huitouke.followups.actions import do_create_sop_rule
from huitouke.followups.models import FollowUpTask, Trigger
from huitouke.followups.sop import run_rule, run_sops
from huitouke.sales.models import Category
from tests.helpers import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def phase_rule(org: Any, category: Category, phase: str, owner: Any) -> Any:
    return do_create_sop_rule(
        organisation=org,
        actor=owner,
        name=f"{category.name} {phase}",
        trigger=Trigger.PHASE_ENTERED,
        category=category,
        phase=phase,
        kind="wechat",
        delay_hours=4,
        script_template="{{ salutation }}，面膜快用完了吧？",
    )


def keys(rule: Any) -> list[tuple[str, str]]:
    return sorted(
        FollowUpTask.objects.filter(rule=rule).values_list("customer__name", "occurrence_key")
    )


def test_each_purchase_enters_each_phase_once(org, store1, owner):
    org.industry = "beauty"  # 美妆: 使用期 from day 3, 结束前 from day 50, 休眠 from day 70
    org.save()
    masks = Category.objects.create(organisation=org, name="面膜")
    mask = make_product(org, name="补水面膜", category=masks)
    serum = make_product(
        org, name="精华", category=Category.objects.create(organisation=org, name="精华")
    )
    ending = phase_rule(org, masks, "ending", owner)
    dormant = phase_rule(org, masks, "dormant", owner)
    wang = make_customer(org, name="王丽", home_store=store1)
    chen = make_customer(org, name="陈静", home_store=store1)
    zhang = make_customer(org, name="张敏", home_store=store1)
    # 23:30 on 1 March in Shanghai is still 1 March: day 50 is 20 April.
    first = make_order(wang, store1, product=mask, placed_at=local(3, 1, 23))
    make_order(chen, store1, product=mask, placed_at=local(3, 1))
    again = make_order(chen, store1, product=mask, placed_at=local(4, 10))  # she bought again
    make_order(zhang, store1, product=serum, placed_at=local(3, 1))  # another category

    assert run_rule(ending, now=local(4, 19)) == 0  # day 49
    assert run_rule(ending, now=local(4, 20)) == 1
    assert keys(ending) == [("王丽", f"phase:{masks.pk}:ending:{first.pk}")]
    task = FollowUpTask.objects.get(rule=ending)
    assert task.due_at == local(4, 20, 14) and "面膜快用完了" in task.script
    # The same day again, the next days (a late worker looks back a few days), the daily pass:
    # no second task for the same purchase and phase.
    for day in (20, 21, 22):
        assert run_rule(ending, now=local(4, day, 18)) == 0
    run_sops(org, now=local(4, 21))
    assert len(keys(ending)) == 1
    assert keys(dormant) == []
    # Day 70: dormant, once.
    assert run_rule(dormant, now=local(5, 10)) == 1
    assert run_rule(dormant, now=local(5, 11)) == 0
    assert keys(dormant) == [("王丽", f"phase:{masks.pk}:dormant:{first.pk}")]
    # 陈静's second purchase reaches the reminder on its own day 50 (30 May), her first never.
    assert run_rule(ending, now=local(5, 30)) == 1
    assert keys(ending) == [
        ("王丽", f"phase:{masks.pk}:ending:{first.pk}"),
        ("陈静", f"phase:{masks.pk}:ending:{again.pk}"),
    ]


def test_the_rule_needs_a_category_of_hers_and_a_phase(org, other_org, owner, client):
    masks = Category.objects.create(organisation=org, name="面膜")
    theirs = Category.objects.create(organisation=other_org, name="面膜")
    for fields, bad in (
        ({"phase": "ending"}, "category"),
        ({"category": masks}, "phase"),
        ({"category": theirs, "phase": "ending"}, "category"),
    ):
        with pytest.raises(ValidationError) as caught:
            do_create_sop_rule(
                organisation=org,
                actor=owner,
                name="提醒",
                trigger=Trigger.PHASE_ENTERED,
                kind="call",
                **fields,
            )
        assert bad in caught.value.message_dict
    rule = phase_rule(org, masks, "ending", owner)
    client.force_login(owner)
    page = client.get(reverse("followups:rules"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert rule.name in page and "面膜" in page and "结束前" in page
    form = client.get(
        reverse("followups:rule_edit", args=[rule.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert f'<option value="{masks.pk}" selected>' in form
    assert f'<option value="{theirs.pk}"' not in form
