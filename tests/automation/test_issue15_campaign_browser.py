"""Issue 15 item 5 in the browser: no campaign to nobody, no message with a hole in it.

A campaign whose estimate reaches nobody (the SMS channel is not set up) is refused before it
starts, saying why, with the way to the channels page; a message whose text needs a value the
customer does not have (a coupon code without a coupon) is not sent, and the outbox says why.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from tests.automation.browser_shots import WOMEN, shoot_each_size
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer

from huitouke.automation import engine
from huitouke.automation.models import AutomationRule
from huitouke.messaging.models import Message, MessageStatus
from huitouke.segments.models import Segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _shoot(page: Any, name: str) -> None:
    def show(page: Any) -> None:
        if name == "campaign-refused":
            page.goto(page.base_url + "/automation/campaigns/new/")
            _fill(page)
            with page.expect_navigation():
                page.click("button.btn:not(.secondary)[type=submit]")
        else:
            page.reload()

    shoot_each_size(page, name, show)


def _fill(page: Any) -> None:
    page.fill("#id_name", "三八节")
    page.select_option("#id_segment", label="女性")
    page.select_option("#id_channel", "sms")
    page.select_option("#id_template", label="生日短信")
    page.fill("#id_holdout_percent", "0")


def _women(org: Any, store1: Any, owner: Any) -> Segment:
    for i in range(3):
        make_customer(org, name=f"女{i}", gender="f", home_store=store1)
    return Segment.objects.create(organisation=org, name="女性", definition=WOMEN, created_by=owner)


def test_a_campaign_to_nobody_is_refused_with_the_way_to_fix_it(
    page, org, owner, store1, sms_template
) -> None:
    _women(org, store1, owner)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/automation/campaigns/new/")
    _fill(page)
    page.click("button.btn:not(.secondary)[type=submit]")
    refused = page.locator("[data-testid=campaign-refused]")
    expect(refused).to_contain_text("不会触达任何人")
    expect(refused).to_contain_text("其中 3 位")
    expect(refused).to_contain_text("短信")
    assert page.get_attribute("[data-testid=configure-channel]", "href") == "/messages/channels/"
    assert not AutomationRule.objects.filter(organisation=org, name="三八节").exists()
    assert page.input_value("#id_name") == "三八节"  # what she typed is kept
    _shoot(page, "campaign-refused")
    page.click("[data-testid=configure-channel]")
    page.wait_for_url(page.base_url + "/messages/channels/")


def test_a_message_missing_its_coupon_code_is_blocked_and_the_outbox_says_why(
    page, org, owner, store1, sms_channel, sms_template
) -> None:
    _women(org, store1, owner)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/automation/campaigns/new/")
    _fill(page)  # the text has {{ coupon_code }}, the campaign gives no coupon
    page.click("button.btn:not(.secondary)[type=submit]")
    page.wait_for_url(re.compile(r"/automation/\d+/$"))
    rule = AutomationRule.objects.get(organisation=org, name="三八节")
    assert page.url == page.base_url + f"/automation/{rule.pk}/"
    engine.run_scheduler(now=timezone.now() + timedelta(minutes=1))
    engine.run_scheduler(now=timezone.now() + timedelta(minutes=2))
    sent = Message.objects.filter(rule=rule)
    assert sent.count() == 3
    assert set(sent.values_list("status", flat=True)) == {MessageStatus.SUPPRESSED}
    assert all("券码，" not in m.body and not m.body.endswith("券码") for m in sent)
    page.goto(page.base_url + f"/messages/?rule={rule.pk}")
    problems = page.locator("[data-testid=message-problem]")
    expect(problems).to_have_count(3)
    expect(problems.first).to_contain_text("券码")
    _shoot(page, "outbox-blocked")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])
    page.reload()
    expect(problems.first).to_contain_text("Coupon code")
