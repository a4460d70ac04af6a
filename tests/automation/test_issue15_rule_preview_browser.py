"""Issue 15 item 6 in the browser: a rule shows whom it reaches and a sample before it is on.

The editor shows, while it is filled in and before anything is saved, the rule's audience (who
matches, who is left out and why, who will be contacted, on which channel) and the message one
of them would read; a text needing a value she lacks says it would not be sent. Choosing 员工任务
as the channel asks for no message template and saves a follow-up task.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from tests.automation.browser_shots import WOMEN, shoot_each_size
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer

from huitouke.automation import engine
from huitouke.automation.models import AutomationRule, Enrolment
from huitouke.messaging.models import MessageTemplate
from huitouke.messaging.opt_outs import do_opt_out
from huitouke.segments.models import Segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What people must never read: {{ variables }}, %(formats)s, snake_case codes, "birthday:2026".
IDENTIFIER = re.compile(r"\{\{|%\(|\b[a-z]+_[a-z_]+\b|\b[a-z]+:\w")


def _show_filled(page: Any) -> None:
    page.reload()
    page.fill("#id_name", "生日祝福")
    page.select_option("#id_segment", label="女性")
    page.select_option("#id_message_channel", "sms")
    page.select_option("#id_message_template", label="生日短信")
    expect(page.locator("[data-testid=rule-sample]")).to_be_visible()


def _shoot(page: Any, name: str) -> None:
    shoot_each_size(page, name, _show_filled)
    page.set_viewport_size({"width": 390, "height": 844})


def test_the_editor_shows_the_audience_and_a_sample_before_saving(
    page, org, owner, store1, sms_channel, sms_template
) -> None:
    women = [make_customer(org, name=f"陈{i}", gender="f", home_store=store1) for i in range(4)]
    make_customer(org, name="王强", gender="m", home_store=store1)
    do_opt_out(women[3], channel="sms", source="manual", actor=owner)
    Segment.objects.create(organisation=org, name="女性", definition=WOMEN, created_by=owner)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/automation/new/")
    page.fill("#id_name", "生日祝福")
    page.select_option("#id_segment", label="女性")
    page.select_option("#id_message_channel", "sms")
    page.select_option("#id_message_template", label="生日短信")
    preview = page.locator("[data-testid=rule-preview]")
    expect(preview).to_contain_text("4")  # match
    expect(preview).to_contain_text("退订")  # one left out, and why
    expect(page.locator("[data-testid=rule-preview-contacted]")).to_contain_text("3")
    expect(preview).to_contain_text("短信")
    sample = page.locator("[data-testid=rule-sample]")
    expect(sample).to_contain_text("陈女士")  # her salutation, filled in
    # The text needs a coupon code the rule does not give: it says so, nothing is empty.
    expect(page.locator("[data-testid=rule-sample-missing]")).to_contain_text("券码")
    assert "{{" not in sample.inner_text()
    assert not AutomationRule.objects.filter(organisation=org).exists()  # nothing saved yet
    # Only the chosen trigger's settings show (the festival boxes are not a birthday's).
    expect(page.locator("[data-field=festivals]")).to_be_hidden()
    _shoot(page, "rule-preview")


def test_the_task_channel_asks_for_no_message_template(page, org, owner, store1) -> None:
    MessageTemplate.objects.create(organisation=org, name="短信", channel="sms", body="您好")
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/automation/new/")
    page.fill("#id_name", "沉默回访")
    page.select_option("#id_message_channel", "task")
    expect(page.locator("[data-field=message_template]")).to_be_hidden()
    expect(page.locator("[data-field=fallback_template]")).to_be_hidden()
    page.fill("#id_task_script", "{{ salutation }}您好，好久不见")
    with page.expect_navigation():
        page.click("#rule-form button[type=submit]")
    rule = AutomationRule.objects.get(organisation=org, name="沉默回访")
    page.wait_for_url(page.base_url + f"/automation/{rule.pk}/")
    assert [a["type"] for a in rule.actions] == ["create_task"]
    assert rule.actions[0]["title"] == "沉默回访"
    page.goto(page.base_url + "/automation/new/")
    page.select_option("#id_message_channel", "sms")
    expect(page.locator("[data-field=message_template]")).to_be_visible()


def test_no_identifier_reaches_the_rule_screens(page, org, owner, store1, sms_channel) -> None:
    """Item 2: a ready-made rule's message templates are named in words, and an enrolment's
    occasion reads as the rule's trigger and year, never "birthday:2026"."""
    today = timezone.localdate()
    make_customer(org, name="陈静", gender="f", birth_month=today.month, birth_day=today.day)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/automation/")
    with page.expect_navigation():
        page.click("[data-testid=enable-birthday_coupon]")
    rule = AutomationRule.objects.get(organisation=org, template_code="birthday_coupon")
    page.wait_for_url(page.base_url + f"/automation/{rule.pk}/")
    names = list(MessageTemplate.objects.filter(organisation=org).values_list("name", flat=True))
    assert names and all(IDENTIFIER.search(n) is None for n in names), names
    page.goto(page.base_url + "/messages/templates/")
    assert IDENTIFIER.search(page.inner_text("main")) is None
    rule.params = {**rule.params, "days_before": 0}
    rule.save(update_fields=["params"])
    engine.run_scheduler(now=timezone.now())
    assert Enrolment.objects.filter(rule=rule).exists()
    for lang, words in (("zh-hans", "年"), ("en", str(today.year))):
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
        page.goto(page.base_url + f"/automation/{rule.pk}/")
        table = page.locator("[data-testid=enrolments]").inner_text()
        assert "birthday:" not in table and words in table, table
        assert IDENTIFIER.search(page.inner_text("main")) is None
