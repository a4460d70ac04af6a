"""Issue 15 item 6: the rule preview counts every channel a message may take, its fallback
included, as the engine sends (a customer without a phone gets the email instead), and the
editor says how many go on each channel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.automation.conftest import make_rule
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer

from huitouke.analytics.jobs import local_today
from huitouke.automation import engine
from huitouke.automation.models import Trigger
from huitouke.automation.queries import audience_preview
from huitouke.messaging.models import Channel, Message, MessageTemplate

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "copy"


def _shop(org: Any, store1: Any) -> list[Any]:
    today = local_today(org)
    born = {"birthday_kind": "solar", "birth_month": today.month, "birth_day": today.day}
    return [
        make_customer(org, name="甲", email="", home_store=store1, **born),
        make_customer(org, name="乙", email="yi@rose.test", home_store=store1, **born),
        make_customer(org, name="丙", phone="", email="bing@rose.test", home_store=store1, **born),
        make_customer(org, name="丁", phone="", email="", home_store=store1, **born),
    ]


def _rule(org: Any, email_template: Any) -> Any:
    sms = MessageTemplate.objects.create(
        organisation=org, name="生日祝福", channel=Channel.SMS, body="{{ salutation }}，生日快乐！"
    )
    return make_rule(
        org,
        name="生日祝福",
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0, "hour": 0},
        holdout_share="0",
        is_marketing=False,
        actions=[
            {
                "type": "send_message",
                "channel": "sms",
                "template": sms.pk,
                "fallback_channel": "email",
                "fallback_template": email_template.pk,
            }
        ],
    )


@pytest.mark.django_db
def test_the_preview_counts_the_fallback_channel_as_the_engine_sends(
    org, store1, sms_channel, email_channel, email_template
) -> None:
    _shop(org, store1)
    rule = _rule(org, email_template)
    preview = audience_preview(rule)
    assert preview["matching"] == 4
    # 丁 has neither a phone nor an email: the only one left out, for her missing address.
    assert preview["suppressed"] == {"no_address": 1}
    assert preview["by_channel"] == {"sms": 2, "email": 1}
    assert preview["contacted"] == 3
    # The engine agrees: two text messages, one email, 丁 recorded as suppressed.
    engine.run_scheduler()
    sent = {
        (name, channel)
        for name, channel, status in Message.objects.values_list(
            "customer__name", "channel", "status"
        )
        if status != "suppressed"
    }
    assert sent == {("甲", "sms"), ("乙", "sms"), ("丙", "email")}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_rule_editor_shows_the_count_by_channel(
    page, org, store1, owner, sms_channel, email_channel, email_template
) -> None:
    _shop(org, store1)
    rule = _rule(org, email_template)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + f"/automation/{rule.pk}/edit/")
    page.wait_for_load_state("load")
    channels = page.locator("[data-testid=rule-preview-channels]")
    expect(channels).to_contain_text("短信 2")
    expect(channels).to_contain_text("1")
    expect(page.locator("[data-testid=rule-preview-contacted]")).to_contain_text("3")
    if not os.environ.get("HUITOUKE_SCREENSHOTS"):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
        for size, (width, height) in {"phone": (390, 844), "desktop": (1366, 900)}.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(page.base_url + f"/automation/{rule.pk}/edit/")
            page.wait_for_load_state("load")
            expect(page.locator("[data-testid=rule-preview-channels]")).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"rule editor scrolls sideways at {width}px ({lang})"
            page.screenshot(path=str(SHOTS / f"rule-preview-{lang}-{size}.png"), full_page=True)
