"""Automation and messaging screens: templates in one click, editor, campaign preview, results,
outbox and failures within scope, template preview, channels, opt-outs, provider callbacks."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.automation.conftest import make_rule, send_sms
from tests.helpers import make_customer

from huitouke.automation import engine
from huitouke.automation.models import AutomationRule, Enrolment, Trigger
from huitouke.messaging.actions import ensure_settings
from huitouke.messaging.models import ChannelConfig, Message, MessageStatus, MessageTemplate, OptOut
from huitouke.segments.models import Segment


def page(client: Client, name: str, *args: Any, **params: Any) -> str:
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_screen_renders_for_the_owner(
    client: Client, org: Any, owner: Any, store1: Any, sms_template: Any, lang: str
) -> None:
    client.force_login(owner)
    client.cookies.load({"django_language": lang})
    rule = make_rule(org, trigger=Trigger.BIRTHDAY, params={}, actions=send_sms(sms_template))
    her = make_customer(org, name="王丽", home_store=store1)
    for name in (
        "automation:list",
        "automation:create",
        "automation:campaign",
        "messaging:outbox",
        "messaging:templates",
        "messaging:template_create",
        "messaging:channels",
    ):
        page(client, name)
    page(client, "automation:detail", rule.pk)
    page(client, "automation:edit", rule.pk)
    page(client, "messaging:template_edit", sms_template.pk)
    page(client, "messaging:customer", her.pk)
    heading = {"zh-hans": "现成规则", "en": "Ready-made rules"}[lang]
    assert heading in page(client, "automation:list")


@pytest.mark.django_db
def test_staff_cannot_open_automation_and_other_organisations_are_invisible(
    client: Client, org: Any, staff_a: Any, other_owner: Any, sms_template: Any
) -> None:
    rule = make_rule(org, trigger=Trigger.BIRTHDAY, params={}, actions=send_sms(sms_template))
    client.force_login(staff_a)
    assert client.get(reverse("automation:list")).status_code == 403
    assert client.get(reverse("messaging:outbox")).status_code == 403
    client.force_login(other_owner)
    assert client.get(reverse("automation:detail", args=[rule.pk])).status_code == 404
    assert client.get(reverse("messaging:template_edit", args=[sms_template.pk])).status_code == 404


@pytest.mark.django_db
def test_enable_a_template_in_one_click_then_switch_it_off(
    client: Client, org: Any, owner: Any
) -> None:
    client.force_login(owner)
    response = client.post(reverse("automation:enable_template", args=["birthday_coupon"]))
    rule = AutomationRule.objects.get(template_code="birthday_coupon")
    assert response.status_code == 302 and response["Location"] == reverse(
        "automation:detail", args=[rule.pk]
    )
    assert rule.is_active and rule.cap_exempt and rule.holdout_share == Decimal("0.10")
    assert [a["type"] for a in rule.actions] == ["issue_coupon", "send_message"]
    assert rule.actions[1]["fallback_channel"] == "email"
    # Enabling again does not duplicate anything.
    client.post(reverse("automation:toggle", args=[rule.pk]))
    client.post(reverse("automation:enable_template", args=["birthday_coupon"]))
    assert AutomationRule.objects.filter(organisation=org).count() == 1
    assert AutomationRule.objects.get().is_active
    assert client.post(reverse("automation:enable_template", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_every_ready_made_template_makes_a_valid_rule(org: Any, owner: Any) -> None:
    from huitouke.automation.presets import TEMPLATES, enable_template

    for template in TEMPLATES:
        rule = enable_template(org, template.code, actor=owner)
        assert rule.is_active and rule.trigger == template.trigger
    assert AutomationRule.objects.filter(organisation=org).count() == len(TEMPLATES)


@pytest.mark.django_db
def test_the_editor_saves_a_rule_and_reports_problems(
    client: Client, org: Any, owner: Any, sms_template: Any
) -> None:
    client.force_login(owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    form = {
        "name": "生日前三天",
        "trigger": "birthday",
        "days_before": "3",
        "hour": "10",
        "delay_minutes": "0",
        "message_channel": "sms",
        "message_template": str(sms_template.pk),
        "add_tag": "生日月",
        "is_marketing": "on",
        "holdout_percent": "10",
        "quiet_start": "21:00",
        "quiet_end": "09:00",
        "is_active": "on",
    }
    response = client.post(reverse("automation:create"), form)
    assert response.status_code == 302
    rule = AutomationRule.objects.get(name="生日前三天")
    assert rule.params == {"days_before": 3, "hour": 10}
    assert [a["type"] for a in rule.actions] == ["add_tag", "send_message"]
    assert rule.holdout_share == Decimal("0.10")
    # An email template on the SMS channel, and no actions: both refused with a message.
    email = MessageTemplate.objects.create(
        organisation=org, name="邮件", channel="email", body="hi"
    )
    bad = client.post(
        reverse("automation:create"),
        {**form, "name": "坏", "message_template": str(email.pk), "add_tag": ""},
    )
    assert bad.status_code == 200 and "template for this channel" in bad.content.decode()
    # Editing keeps what the form does not show.
    edit = client.post(reverse("automation:edit", args=[rule.pk]), {**form, "days_before": "5"})
    assert edit.status_code == 302
    rule.refresh_from_db()
    assert rule.params["days_before"] == 5


@pytest.mark.django_db
def test_campaign_preview_counts_after_opt_outs_and_holdout_then_sends(
    client: Client, org: Any, owner: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    from huitouke.messaging.opt_outs import do_opt_out

    client.force_login(owner)
    segment = Segment.objects.create(
        organisation=org,
        name="女性",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "gender", "op": "in", "value": ["f"]}],
        },
    )
    women = [make_customer(org, name=f"女{i}", gender="f", home_store=store1) for i in range(10)]
    make_customer(org, name="男", gender="m", home_store=store1)
    do_opt_out(women[0], channel="sms", source="manual", actor=owner)
    Message.objects.create(
        organisation=org,
        customer=women[1],
        channel="sms",
        body="x",
        idempotency_key="old",
        is_marketing=True,
        counts_toward_cap=True,
        status=MessageStatus.SENT,
        created_at=timezone.now() - timedelta(days=3),
    )
    form = {
        "name": "三八节",
        "segment": segment.pk,
        "channel": "sms",
        "template": sms_template.pk,
        "holdout_percent": "0",
        "is_marketing": "on",
    }
    preview = client.post(
        reverse("automation:campaign"), {**form, "preview": "1"}, HTTP_HX_REQUEST="true"
    )
    text = preview.content.decode()
    assert "10 customers match" in text or "10" in text
    assert preview.context["preview"] == {
        "matching": 10,
        "suppressed": {"opted_out": 1, "frequency_cap": 1},
        "by_channel": {"sms": 8},
        "channel_rows": [("短信", 8)],
        "holdout": 0,
        "contacted": 8,
    }

    response = client.post(reverse("automation:campaign"), form)
    rule = AutomationRule.objects.get(name="三八节")
    assert response.status_code == 302 and rule.trigger == Trigger.MANUAL
    engine.run_scheduler(now=timezone.now() + timedelta(minutes=1))
    engine.run_scheduler(now=timezone.now() + timedelta(minutes=2))
    statuses = sorted(Enrolment.objects.filter(rule=rule).values_list("status", flat=True))
    assert statuses == ["done"] * 8 + ["suppressed"] * 2


@pytest.mark.django_db
def test_results_page_shows_the_numbers(
    client: Client, org: Any, owner: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    from tests.automation.conftest import local

    rule = make_rule(
        org,
        trigger=Trigger.BIRTHDAY,
        params={},
        holdout_share=Decimal("0"),
        actions=send_sms(sms_template),
    )
    make_customer(org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20)
    engine.run_scheduler(now=local(2026, 5, 20, 9, 0))
    client.force_login(owner)
    html = page(client, "automation:detail", rule.pk)
    assert 'data-kpi="targeted">1<' in html and "王丽" in html
    # The occasion in words (the trigger and its year), never its key "birthday:2026".
    assert "birthday:2026" not in html and "2026" in html


@pytest.mark.django_db
def test_outbox_and_failures_respect_scope(
    client: Client, org: Any, owner: Any, manager: Any, store1: Any, store2: Any
) -> None:
    mine = make_customer(org, name="本店", home_store=store1)
    other = make_customer(org, name="别店", home_store=store2)
    for customer, status in ((mine, MessageStatus.FAILED), (other, MessageStatus.FAILED)):
        Message.objects.create(
            organisation=org,
            customer=customer,
            channel="sms",
            body=f"给{customer.name}",
            status=status,
            error="isv.MOBILE_NUMBER_ILLEGAL",
            idempotency_key=f"k{customer.pk}",
        )
    client.force_login(manager)
    html = page(client, "messaging:outbox", status="failed")
    assert "给本店" in html and "给别店" not in html
    client.force_login(owner)
    html = page(client, "messaging:outbox", status="failed")
    assert "给本店" in html and "给别店" in html and "isv.MOBILE_NUMBER_ILLEGAL" in html
    failed = Message.objects.get(customer=other)
    assert client.post(reverse("messaging:retry", args=[failed.pk])).status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (MessageStatus.QUEUED, 0)


@pytest.mark.django_db
def test_template_live_preview_for_one_customer(
    client: Client, org: Any, owner: Any, store1: Any
) -> None:
    her = make_customer(org, name="陈静", gender="f", home_store=store1)
    client.force_login(owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(
        reverse("messaging:template_preview"),
        {
            "channel": "sms",
            "body": "{{ salutation }}，{{ store }}送您{{ coupon_value }}",
            "customer": her.pk,
        },
        HTTP_HX_REQUEST="true",
    )
    assert "【玫瑰美容】陈女士，万达店送您满200减50 回T退订" in response.content.decode()
    bad = client.post(
        reverse("messaging:template_create"),
        {"name": "坏", "channel": "sms", "body": "{{ nickname }}"},
    )
    assert "Unknown variable(s): nickname" in bad.content.decode()
    good = client.post(
        reverse("messaging:template_create"),
        {"name": "好", "channel": "sms", "body": "{{ name }}", "sms_params_text": "name"},
    )
    assert good.status_code == 302 and MessageTemplate.objects.get(name="好").sms_params == ["name"]


@pytest.mark.django_db
def test_channels_keep_a_secret_left_blank(
    client: Client, org: Any, owner: Any, manager: Any
) -> None:
    client.force_login(manager)
    assert client.get(reverse("messaging:channels")).status_code == 403
    client.force_login(owner)
    form = {
        "form": "sms",
        "sms-provider": "aliyun",
        "sms-key_id": "LTAI",
        "sms-secret": "s3cret",
        "sms-unit_cost": "0.045",
        "sms-is_active": "on",
    }
    assert client.post(reverse("messaging:channels"), form).status_code == 302
    client.post(reverse("messaging:channels"), {**form, "sms-secret": "", "sms-unit_cost": "0.05"})
    config = ChannelConfig.objects.get(organisation=org, channel="sms")
    assert config.plain_settings() == {"access_key_id": "LTAI", "access_key_secret": "s3cret"}
    assert "s3cret" not in str(config.settings)  # encrypted at rest
    assert config.unit_cost == Decimal("0.0500")
    assert "s3cret" not in page(client, "messaging:channels")


@pytest.mark.django_db
def test_manual_opt_out_on_the_customer(client: Client, org: Any, staff_a: Any) -> None:
    her = make_customer(org, name="王丽", owner=staff_a)
    client.force_login(staff_a)
    client.post(
        reverse("messaging:opt_out", args=[her.pk]), {"channel": "all", "note": "电话里说的"}
    )
    assert OptOut.objects.get(customer=her).source == "manual"
    her.refresh_from_db()
    assert (her.consent_sms, her.consent_email, her.consent_wechat) == (False, False, False)
    client.post(reverse("messaging:opt_in", args=[her.pk]), {"channel": "all"})
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_provider_callback_records_replies_and_delivery(
    client: Client, org: Any, store1: Any
) -> None:
    her = make_customer(org, name="王丽", phone="13800138000", home_store=store1)
    sent = Message.objects.create(
        organisation=org,
        customer=her,
        channel="sms",
        body="x",
        status=MessageStatus.SENT,
        provider="aliyun",
        provider_message_id="900001^0",
        idempotency_key="e1",
    )
    token = ensure_settings(org).callback_token
    url = reverse("messaging:callback", args=[token])
    report = [
        {
            "phone_number": "13800138000",
            "success": True,
            "biz_id": "900001^0",
            "out_id": "e1",
            "report_time": "2026-03-02 12:00:00",
        }
    ]
    assert (
        client.post(url, json.dumps(report), content_type="application/json").json()["reports"] == 1
    )
    sent.refresh_from_db()
    assert sent.delivered_at is not None
    reply = [{"phone_number": "13800138000", "content": "T", "send_time": "2026-03-02 12:05:00"}]
    assert (
        client.post(url, json.dumps(reply), content_type="application/json").json()["opted_out"]
        == 1
    )
    assert OptOut.objects.get(customer=her).source == "reply"
    # Tencent's reply format, and something that is not a stop word.
    tencent = {"mobile": "13800138000", "nationcode": "86", "text": "谢谢"}
    assert (
        client.post(url, json.dumps(tencent), content_type="application/json").json()["opted_out"]
        == 0
    )
    assert (
        client.post(
            reverse("messaging:callback", args=["wrong"]), "[]", content_type="application/json"
        ).status_code
        == 404
    )
    assert client.post(url, "not json", content_type="application/json").status_code == 200
