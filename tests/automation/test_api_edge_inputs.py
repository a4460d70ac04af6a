"""Inputs that used to answer 500 or store nonsense: zoned quiet hours, numeric times, and the
schema's own descriptions of times and intervals."""

from __future__ import annotations

from typing import Any

import pytest
from tests.automation.test_api import Api
from tests.helpers import make_customer

from huitouke.automation.models import AutomationRule
from huitouke.customers.models import Interaction

pytestmark = pytest.mark.django_db


def rule_body(sms_template: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": "生日",
        "trigger": "birthday",
        "params": {"days_before": 1},
        "actions": [{"type": "send_message", "channel": "sms", "template": sms_template.pk}],
        **extra,
    }


@pytest.mark.parametrize("value", ["18:26:05Z", "18:26+08:00", "25:00", "9pm", 64800])
def test_quiet_hours_with_a_zone_or_nonsense_are_refused_and_nothing_is_written(
    owner: Any, sms_template: Any, value: Any
) -> None:
    api = Api(owner)
    created = api.send("post", "/automations", rule_body(sms_template, quiet_start=value))
    assert created.status_code == 422, created.content
    assert not AutomationRule.objects.exists()
    rule = api.send("post", "/automations", rule_body(sms_template)).json()
    patched = api.send("patch", f"/automations/{rule['id']}", {"quiet_end": value})
    assert patched.status_code == 422, patched.content
    assert AutomationRule.objects.get().quiet_end.isoformat() == "09:00:00"
    AutomationRule.objects.all().delete()


def test_quiet_hours_read_back_as_they_are_described(owner: Any, sms_template: Any) -> None:
    api = Api(owner)
    rule = api.send("post", "/automations", rule_body(sms_template, quiet_start="22:30")).json()
    assert (rule["quiet_start"], rule["quiet_end"]) == ("22:30", "09:00")
    schema = api.get("/openapi.json").json()
    text = str(schema)
    assert "prefixItems" not in text
    rule_out = schema["components"]["schemas"]["RuleOut"]["properties"]["quiet_start"]
    assert "'format': 'time'" not in str(rule_out) and "pattern" in str(rule_out)


def test_a_numeric_occurred_at_is_refused(owner: Any, org: Any) -> None:
    customer = make_customer(org)
    api = Api(owner)
    for value in (0, 1714000000, 1.5):
        response = api.send(
            "post",
            f"/customers/{customer.pk}/interactions",
            {"kind": "call", "note": "x", "occurred_at": value},
        )
        assert response.status_code == 422, response.content
    assert not Interaction.objects.exists()
