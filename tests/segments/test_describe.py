"""A segment's conditions in words: ids of the shop's rows read as names, choices as labels."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from tests.automation.conftest import make_rule

from huitouke.accounts.models import Store
from huitouke.automation.models import Trigger
from huitouke.customers.models import CustomField
from huitouke.sales.models import Category
from huitouke.segments.describe import describe_definition


@pytest.mark.django_db
def test_each_kind_of_condition_reads_as_words(org: Any, store1: Any, staff_a: Any) -> None:
    category = Category.objects.create(organisation=org, name="面膜")
    gone = Store.objects.create(organisation=org, name="旧店")
    gone_pk = gone.pk
    gone.delete()
    CustomField.objects.create(
        organisation=org, key="skin", label="肤质", type="choice", choices=["干性", "油性"]
    )
    definition = {
        "version": 1,
        "match": "all",
        "conditions": [
            {"field": "store", "op": "in", "value": [store1.pk, gone_pk]},
            {"field": "owner", "op": "not_in", "value": [staff_a.pk]},
            {"field": "lifecycle", "op": "in", "value": ["silent"]},
            {"field": "consent_sms", "op": "is", "value": True},
            {"field": "orders_count", "op": "between", "value": [2, 5]},
            {
                "match": "any",
                "conditions": [
                    {
                        "field": "bought_category",
                        "op": "bought",
                        "value": {"ids": [category.pk], "within_days": 90},
                    },
                    {"field": "custom.skin", "op": "in", "value": ["油性"]},
                ],
            },
        ],
    }
    with translation.override("zh-hans"):
        text = describe_definition(definition, org)
    assert text == (
        "所属门店 是 万达店、（已删除） 且 负责人 不是 小美 且 生命周期 是 沉默 且 "
        "接收短信营销：是 且 订单 介于 2 至 5 且 "
        "（购买过的品类 买过 面膜 （最近 90 天内） 或 肤质 是 油性）"
    )
    for part in ("万达店", "（已删除）", str(staff_a), "沉默", "面膜", "油性", "2 至 5"):
        assert part in text
    for code in (str(store1.pk), "silent", "not_in", "bought_category", "custom.skin"):
        assert f" {code} " not in f" {text} "
    with translation.override("en"):
        english = describe_definition(definition, org)
    assert "Home store is 万达店" in english and " and " in english and " or " in english


@pytest.mark.django_db
def test_the_rule_editor_reads_its_conditions_by_name(org: Any, store1: Any, owner: Any) -> None:
    rule = make_rule(
        org,
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0},
        conditions={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "store", "op": "in", "value": [store1.pk]}],
        },
        actions=[{"type": "add_tag", "tag": "生日"}],
    )
    client = Client()
    client.force_login(owner)
    page = client.get(f"/automation/{rule.pk}/edit/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.context["conditions_text"] == describe_definition(rule.conditions, org)
    assert "所属门店 是 万达店" in page.content.decode()
