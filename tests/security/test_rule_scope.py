"""Issue 14 item 3: a rule, campaign or export reaches only what its author may see."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from tests.automation.conftest import make_rule
from tests.helpers import make_customer

from huitouke.accounts.scoping import Scope
from huitouke.automation import engine, queries
from huitouke.automation.actions import do_save_rule, new_rule
from huitouke.automation.models import AutomationRule, Enrolment, Trigger
from huitouke.customers.models import Customer
from huitouke.imports.exports import do_export
from huitouke.segments.actions import do_save_segment

pytestmark = pytest.mark.django_db

TAG = [{"type": "add_tag", "tag": "reached"}]
SEND = {"send_at": "2026-01-01T10:00:00+08:00"}


def in_store(*stores: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "match": "all",
        "conditions": [{"field": "store", "op": "in", "value": [s.pk for s in stores]}],
    }


@pytest.fixture
def people(org: Any, store1: Any, store2: Any, manager: Any, staff_a: Any, staff_c: Any) -> dict:
    return {
        "mine": make_customer(org, name="本店甲", home_store=store1, owner=staff_a),
        "other": make_customer(org, name="外店乙", home_store=store2, owner=staff_c),
        "hers": make_customer(org, name="外店丙", home_store=store2, owner=manager),
    }


def tagged(org: Any) -> set[str]:
    return set(
        Customer.objects.filter(organisation=org, tags__name="reached").values_list(
            "name", flat=True
        )
    )


def test_a_managers_rule_over_another_store_reaches_only_her_customers(
    org: Any, store1: Any, store2: Any, manager: Any, people: dict
) -> None:
    segment = do_save_segment(
        organisation=org, actor=manager, name="二店", definition=in_store(store2)
    )
    rule = do_save_rule(
        new_rule(
            org,
            name="二店关怀",
            trigger=Trigger.MANUAL,
            params=SEND,
            segment=segment,
            actions=TAG,
            is_active=True,
            holdout_share=0,
        ),
        actor=manager,
    )
    assert (rule.scope_role, rule.scope_store_id, rule.scope_user_id) == (
        "manager",
        store1.pk,
        manager.pk,
    )
    assert queries.audience_preview(rule)["matching"] == 1
    engine.evaluate_rule_day(rule, date.today())
    assert set(Enrolment.objects.filter(rule=rule).values_list("customer__name", flat=True)) == {
        "外店丙"
    }
    engine.process_due(now=engine.timezone.now() + engine.timedelta(days=30))
    assert tagged(org) == {"外店丙"}


def test_an_event_rule_of_a_manager_does_not_enrol_other_stores(
    org: Any, store1: Any, store2: Any, manager: Any, staff_c: Any
) -> None:
    do_save_rule(
        new_rule(
            org,
            name="新客",
            trigger=Trigger.CUSTOMER_CREATED,
            conditions=in_store(store1, store2),
            actions=TAG,
            is_active=True,
            holdout_share=0,
        ),
        actor=manager,
    )
    make_customer(org, name="外店新客", home_store=store2, owner=staff_c)
    make_customer(org, name="本店新客", home_store=store1)
    assert set(Enrolment.objects.values_list("customer__name", flat=True)) == {"本店新客"}


def test_an_owners_rule_reaches_the_organisation_and_its_page_lists_what_the_viewer_sees(
    client: Any, org: Any, store2: Any, owner: Any, manager: Any, people: dict
) -> None:
    rule = do_save_rule(
        new_rule(
            org, name="全店", trigger=Trigger.MANUAL, params=SEND, actions=TAG, is_active=True
        ),
        actor=owner,
    )
    assert rule.scope == Scope(org.pk, "owner", None, owner.pk)
    engine.evaluate_rule_day(rule, date.today())
    assert Enrolment.objects.filter(rule=rule).count() == 3
    client.force_login(manager)
    page = client.get(reverse("automation:detail", args=[rule.pk])).content.decode()
    assert "本店甲" in page and "外店丙" in page
    assert "外店乙" not in page
    assert "the whole organisation" in page or "整个" in page
    # She may not change a rule that reaches beyond her store, by page or API.
    assert client.post(reverse("automation:toggle", args=[rule.pk])).status_code == 403
    response = client.patch(
        f"/api/v1/automations/{rule.pk}",
        {"name": "改名"},
        content_type="application/json",
    )
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.is_active and rule.name == "全店"
    assert "switch off" not in page.lower()


def test_the_owner_may_change_a_managers_rule_and_it_keeps_its_reach(
    org: Any, store1: Any, owner: Any, manager: Any
) -> None:
    rule = do_save_rule(
        new_rule(org, name="店长的", trigger=Trigger.MANUAL, params=SEND, actions=TAG),
        actor=manager,
    )
    rule.name = "老板改的"
    do_save_rule(rule, actor=owner)
    rule.refresh_from_db()
    assert (rule.scope_role, rule.scope_store_id) == ("manager", store1.pk)


def test_a_rule_made_by_the_system_reaches_the_organisation(org: Any, people: dict) -> None:
    rule = make_rule(org, trigger=Trigger.MANUAL, params=SEND, actions=TAG)
    assert rule.scope_role == "owner"
    engine.evaluate_rule_day(rule, date.today())
    assert AutomationRule.objects.get(pk=rule.pk).enrolments.count() == 3


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("owner", {"本店甲", "外店乙", "外店丙"}),
        ("manager", {"本店甲", "外店丙"}),
        ("staff_a", {"本店甲"}),
        ("staff_c", {"外店乙"}),
    ],
)
def test_a_segment_export_holds_only_what_the_exporter_may_see(
    request: Any, tmp_path: Any, org: Any, store1: Any, store2: Any, people: dict, who: str, names
) -> None:
    actor = request.getfixturevalue(who)
    segment = do_save_segment(
        organisation=org, actor=None, name="两店", definition=in_store(store1, store2)
    )
    path = tmp_path / "out.csv"
    count = do_export(
        path,
        kind="customers",
        fmt="csv",
        organisation=org,
        actor=actor,
        segment=segment.pk,
        lang="en",
    )
    with open(path, encoding="utf-8-sig") as handle:
        got = {row["name"] for row in csv.DictReader(handle)}
    assert got == names and count == len(names)


def test_segment_counts_and_members_follow_the_viewer(
    client: Any, org: Any, store1: Any, store2: Any, manager: Any, people: dict
) -> None:
    client.force_login(manager)
    response = client.post(
        "/api/v1/segments/count",
        {"definition": in_store(store2)},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1
