"""Issue 15 item 5 through the API: a campaign switched on that would reach nobody is refused
(problem `reaches_nobody`, the reasons in `errors`), like the campaign screen; the estimate
endpoints answer the preview's numbers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.automation.test_api import Api
from tests.helpers import make_customer

from huitouke.automation.models import AutomationRule
from huitouke.segments.models import Segment

WOMEN = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "gender", "op": "in", "value": ["f"]}],
}


def _campaign(segment: Segment, template: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": "三八节",
        "trigger": "manual",
        "params": {"send_at": "2030-03-08T10:00:00"},
        "segment_id": segment.pk,
        "actions": [{"type": "send_message", "channel": "sms", "template": template.pk}],
        "holdout_share": "0",
        **extra,
    }


@pytest.fixture
def women(org: Any, store1: Any, owner: Any) -> Segment:
    for i in range(3):
        make_customer(org, name=f"女{i}", gender="f", home_store=store1)
    return Segment.objects.create(organisation=org, name="女性", definition=WOMEN, created_by=owner)


@pytest.mark.django_db
def test_a_campaign_to_nobody_is_refused_on_create_patch_and_activate(
    owner: Any, women: Segment, sms_template: Any
) -> None:
    api = Api(owner)
    refused = api.send("post", "/automations", _campaign(women, sms_template, is_active=True))
    assert refused.status_code == 422, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "reaches_nobody"
    assert problem["type"] == "urn:huitouke:problem:reaches_nobody"
    assert "would reach nobody" in problem["detail"]
    # Each reason with what to do: here the SMS channel is not set up for all three.
    assert [e["field"] for e in problem["errors"]] == [None]
    assert "SMS channel is not set up" in problem["errors"][0]["message"]
    assert not AutomationRule.objects.exists()

    # Saved switched off, it is kept; switching it on is refused both ways.
    draft = api.send("post", "/automations", _campaign(women, sms_template))
    assert draft.status_code == 201, draft.content
    rule_id = draft.json()["id"]
    for answer in (
        api.send("post", f"/automations/{rule_id}/activate"),
        api.send("patch", f"/automations/{rule_id}", {"is_active": True}),
    ):
        assert answer.status_code == 422 and answer.json()["code"] == "reaches_nobody"
    assert AutomationRule.objects.get(pk=rule_id).is_active is False

    estimate = api.get(f"/automations/{rule_id}/estimate")
    assert estimate.status_code == 200
    assert estimate.json() == {
        "matching": 3,
        "suppressed": {"no_channel": 3},
        "by_channel": {},
        "holdout": 0,
        "contacted": 0,
    }


@pytest.mark.django_db
def test_a_campaign_that_reaches_someone_is_switched_on_and_estimated(
    owner: Any, women: Segment, sms_template: Any, sms_channel: Any
) -> None:
    api = Api(owner)
    body = _campaign(women, sms_template, is_marketing=False)
    estimate = api.send("post", "/automations/estimate", body)
    assert estimate.status_code == 200, estimate.content
    assert estimate.json() == {
        "matching": 3,
        "suppressed": {},
        "by_channel": {"sms": 3},
        "holdout": 0,
        "contacted": 3,
    }
    assert not AutomationRule.objects.exists()  # an estimate saves nothing
    created = api.send("post", "/automations", {**body, "is_active": True})
    assert created.status_code == 201, created.content
    assert created.json()["is_active"] is True


@pytest.mark.django_db
def test_the_schema_documents_the_refusal_and_the_estimates(owner: Any) -> None:
    api = Api(owner)
    schema = api.get("/openapi.json").json()
    assert (
        "reaches_nobody" in schema["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    )
    paths = schema["paths"]
    assert "post" in paths["/api/v1/automations/estimate"]
    assert "get" in paths["/api/v1/automations/{rule_id}/estimate"]
    assert (
        "reaches_nobody"
        in paths["/api/v1/automations/{rule_id}/activate"]["post"]["responses"]["422"][
            "description"
        ]
    )
