"""The automation and messaging API: rules, results, templates, outbox, opt-outs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from tests.helpers import make_customer

from huitouke.accounts.tokens import create_api_token
from huitouke.messaging.models import Message, OptOut


class Api:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.headers = {
            "Authorization": f"Bearer {create_api_token(user, 'test', actor=user)}",
            "Accept-Language": "en",
        }

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get("/api/v1" + path, params, headers=self.headers)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        return getattr(self.client, method)(
            "/api/v1" + path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.mark.django_db
def test_create_change_switch_and_read_results(owner: Any, sms_template: Any) -> None:
    api = Api(owner)
    body = {
        "name": "生日",
        "trigger": "birthday",
        "params": {"days_before": 1},
        "actions": [{"type": "send_message", "channel": "sms", "template": sms_template.pk}],
        "is_active": True,
    }
    created = api.send("post", "/automations", body)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["params"] == {"days_before": 1, "hour": 9}
    assert Decimal(rule["holdout_share"]) == Decimal("0.10")
    changed = api.send(
        "patch", f"/automations/{rule['id']}", {"delay_minutes": 30, "holdout_share": "0.2"}
    )
    assert changed.status_code == 200 and changed.json()["delay_minutes"] == 30
    assert api.send("post", f"/automations/{rule['id']}/deactivate").json()["is_active"] is False
    results = api.get(f"/automations/{rule['id']}/results").json()
    assert results["targeted"] == 0 and results["roi"] is None
    assert [r["id"] for r in api.get("/automations").json()] == [rule["id"]]


@pytest.mark.django_db
def test_invalid_rules_are_refused_with_a_message(owner: Any, sms_template: Any) -> None:
    api = Api(owner)
    base = {"name": "x", "trigger": "birthday", "actions": [{"type": "add_tag", "tag": "a"}]}
    for bad, needle in (
        ({"actions": []}, "at least one action"),
        ({"actions": [{"type": "fly"}]}, "unknown action"),
        ({"params": {"days_before": 99}}, "between 0 and 60"),
        ({"trigger": "festival", "params": {"festivals": ["halloween"]}}, "festivals must list"),
        (
            {
                "conditions": {
                    "version": 1,
                    "conditions": [{"field": "nope", "op": "eq", "value": 1}],
                }
            },
            "nope",
        ),
        (
            {"actions": [{"type": "send_message", "channel": "sms", "template": 999999}]},
            "choose a message template",
        ),
    ):
        response = api.send("post", "/automations", {**base, **bad})
        assert response.status_code == 422, bad
        assert needle in response.json()["detail"], (needle, response.json())


@pytest.mark.django_db
def test_staff_may_not_and_other_organisations_see_nothing(
    staff_a: Any, other_owner: Any, owner: Any
) -> None:
    assert Api(staff_a).get("/automations").status_code == 403
    rule = Api(owner).send("post", "/automation-templates/festival_greeting/enable").json()
    assert Api(other_owner).get(f"/automations/{rule['id']}").status_code == 404
    assert Api(owner).send("post", "/automation-templates/unknown/enable").status_code == 404
    templates = Api(owner).get("/automation-templates").json()
    assert {t["code"]: t["is_active"] for t in templates}["festival_greeting"] is True


@pytest.mark.django_db
def test_outbox_and_opt_outs(org: Any, owner: Any, staff_a: Any, store1: Any) -> None:
    mine = make_customer(org, name="王丽", owner=staff_a)
    other = make_customer(org, name="张敏")
    for customer in (mine, other):
        Message.objects.create(
            organisation=org,
            customer=customer,
            channel="sms",
            body="hi",
            idempotency_key=f"k{customer.pk}",
        )
    listed = Api(owner).get("/messages", status="queued").json()
    assert listed["count"] == 2
    assert Api(owner).get("/messages", status="bogus").status_code == 422
    assert Api(staff_a).get("/messages").status_code == 403
    created = Api(staff_a).send(
        "post", f"/customers/{mine.pk}/opt-outs", {"channel": "sms", "note": "不要短信"}
    )
    assert created.status_code == 201 and created.json()["source"] == "api"
    assert (
        Api(staff_a).send("post", f"/customers/{other.pk}/opt-outs", {"channel": "sms"}).status_code
        == 404
    )
    assert OptOut.objects.get().customer == mine
    assert Message.objects.get(customer=mine).status == "suppressed"
