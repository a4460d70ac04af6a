"""The outbox: real SMTP (aiosmtpd) and signature-checking SMS stand-ins, retries, failures, opt-outs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tests.automation.conftest import (
    KEY_ID,
    SECRET,
    SMS_TEMPLATE_CODE,
    LocalController,
    Mailbox,
    local,
)
from tests.helpers import make_customer
from tests.messaging.provider_server import HTTP_500, AliyunFakeServer, TencentFakeServer

from huitouke.messaging.actions import enqueue_message, ensure_settings
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    Message,
    MessageStatus,
    MessageTemplate,
    Provider,
)
from huitouke.messaging.opt_outs import do_opt_out
from huitouke.messaging.outbox import send_due


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    controller = LocalController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def aliyun() -> Iterator[AliyunFakeServer]:
    with AliyunFakeServer(
        keys={KEY_ID: SECRET}, sign_names={"玫瑰美容"}, templates={SMS_TEMPLATE_CODE}
    ) as fake:
        yield fake


@pytest.fixture
def sms(org: Any, aliyun: AliyunFakeServer) -> ChannelConfig:
    return ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.SMS,
        provider=Provider.ALIYUN,
        settings={
            "access_key_id": KEY_ID,
            "access_key_secret": SECRET,
            "endpoint": aliyun.url,
            "timeout": 3,
        },
        unit_cost=Decimal("0.045"),
    )


@pytest.fixture
def smtp(org: Any, smtp_port: int) -> ChannelConfig:
    return ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.EMAIL,
        provider=Provider.SMTP,
        settings={"host": "127.0.0.1", "port": smtp_port, "from_address": "hi@rose.test"},
        unit_cost=Decimal("0.01"),
    )


@pytest.fixture
def sms_text(org: Any) -> MessageTemplate:
    return MessageTemplate.objects.create(
        organisation=org,
        name="回访",
        channel=Channel.SMS,
        body="{{ salutation }}，送您{{ coupon_value }}，券码{{ coupon_code }}",
        provider_template_code=SMS_TEMPLATE_CODE,
        sms_params=["salutation", "coupon_code"],
    )


@pytest.fixture
def email_text(org: Any) -> MessageTemplate:
    return MessageTemplate.objects.create(
        organisation=org,
        name="邮件",
        channel=Channel.EMAIL,
        subject="{{ salutation }}您好",
        body="{{ name }}，{{ store }}送您{{ coupon_value }}。",
    )


@pytest.fixture
def wang(org: Any, store1: Any) -> Any:
    return make_customer(
        org,
        name="王丽",
        gender="f",
        home_store=store1,
        phone="13800138000",
        email="wang@example.test",
    )


VARS = {"coupon_code": "7KQ2M9", "coupon_value": "满200减50"}
NOON = local(2026, 3, 2, 12, 0)


def queue(customer: Any, template: MessageTemplate, key: str = "k1", **kwargs: Any) -> Message:
    from huitouke.messaging.rendering import customer_variables

    kwargs.setdefault("now", NOON)
    return enqueue_message(
        customer=customer,
        channel=template.channel,
        template=template,
        idempotency_key=key,
        variables=customer_variables(customer, **VARS),
        **kwargs,
    )


@pytest.mark.django_db
def test_email_is_delivered_to_a_real_smtp_server(
    wang: Any, smtp: Any, email_text: Any, mailbox: Mailbox
) -> None:
    message = queue(wang, email_text)
    assert send_due(now=NOON)["sent"] == 1

    [received] = mailbox.messages
    assert received["Subject"] == "王女士您好"
    assert received.get_content().strip() == "王丽，万达店送您满200减50。"
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.cost == Decimal("0.0100")
    assert message.delivered_at == NOON
    assert received["Message-ID"] == message.provider_message_id == "<k1@rose.test>"


@pytest.mark.django_db
def test_marketing_sms_is_signed_and_accepted_by_the_provider(
    wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    message = queue(wang, sms_text, is_marketing=True)
    assert message.body == "【玫瑰美容】王女士，送您满200减50，券码7KQ2M9 回T退订"
    assert send_due(now=NOON)["sent"] == 1

    [request] = aliyun.requests
    assert request.verdict == "OK"  # the server checked the HMAC-SHA1 signature
    assert request.query["SignName"] == "玫瑰美容"
    assert request.query["PhoneNumbers"] == "13800138000"
    assert json.loads(request.query["TemplateParam"]) == {
        "salutation": "王女士",
        "coupon_code": "7KQ2M9",
    }
    assert request.query["OutId"] == "k1"
    message.refresh_from_db()
    assert (message.status, message.cost) == (MessageStatus.SENT, Decimal("0.0450"))
    assert message.provider_message_id.endswith("^0")


@pytest.mark.django_db
def test_care_sms_has_no_opt_out_text(wang: Any, sms: Any, sms_text: Any) -> None:
    assert (
        queue(wang, sms_text, is_marketing=False).body
        == "【玫瑰美容】王女士，送您满200减50，券码7KQ2M9"
    )


@pytest.mark.django_db
def test_tencent_sms_is_accepted_too(org: Any, wang: Any, sms_text: Any) -> None:
    with TencentFakeServer(
        keys={"AKIDtest": "tencent-secret"},
        app_ids={"1400000001"},
        sign_names={"玫瑰美容"},
        templates={SMS_TEMPLATE_CODE},
    ) as tencent:
        ChannelConfig.objects.create(
            organisation=org,
            channel=Channel.SMS,
            provider=Provider.TENCENT,
            settings={
                "secret_id": "AKIDtest",
                "secret_key": "tencent-secret",
                "sms_sdk_app_id": "1400000001",
                "endpoint": tencent.url,
            },
        )
        queue(wang, sms_text)
        assert send_due(now=NOON)["sent"] == 1
        [request] = tencent.requests
        body = json.loads(request.body)
    assert request.verdict == "Ok"
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["TemplateParamSet"] == ["王女士", "7KQ2M9"]
    assert body["SessionContext"] == "k1"


@pytest.mark.django_db
def test_provider_500_is_retried_with_backoff_then_sent_once(
    wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    message = queue(wang, sms_text)
    aliyun.fail_next(HTTP_500)

    assert send_due(now=NOON)["retry"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert message.next_attempt_at == NOON + timedelta(seconds=60)
    assert message.error == "aliyun: internal server error"
    assert send_due(now=NOON + timedelta(seconds=30)) == {}  # not due yet

    assert send_due(now=NOON + timedelta(seconds=61))["sent"] == 1
    assert send_due(now=NOON + timedelta(minutes=10)) == {}
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    assert [r.verdict for r in aliyun.requests] == [HTTP_500, "OK"]


@pytest.mark.django_db
def test_back_off_doubles_and_gives_up_after_max_attempts(
    org: Any, wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    rules = ensure_settings(org)
    rules.max_attempts = 3
    rules.save()
    message = queue(wang, sms_text)
    aliyun.fail_next(HTTP_500, HTTP_500, HTTP_500)
    now = NOON
    outcomes = []
    for _ in range(3):
        outcome = send_due(now=now)
        outcomes.append(dict(outcome))
        message.refresh_from_db()
        now = message.next_attempt_at
    assert outcomes == [{"retry": 1}, {"retry": 1}, {"failed": 1}]
    assert message.status == MessageStatus.FAILED
    assert len(aliyun.requests) == 3
    # Waits of 60 s, then 120 s.
    assert now - NOON == timedelta(seconds=180)


@pytest.mark.django_db
def test_permanent_failure_fails_at_once_and_falls_back(
    wang: Any, sms: Any, smtp: Any, email_text: Any, aliyun: AliyunFakeServer, mailbox: Mailbox
) -> None:
    bad = MessageTemplate.objects.create(
        organisation=wang.organisation,
        name="未审核",
        channel=Channel.SMS,
        body="hi",
        provider_template_code="SMS_UNAPPROVED",
    )
    message = queue(wang, bad, fallback_channel=Channel.EMAIL, fallback_template=email_text)
    assert send_due(now=NOON) == {"failed": 1}
    assert send_due(now=NOON + timedelta(minutes=1)) == {"sent": 1}  # the fallback, next tick
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "isv.SMS_TEMPLATE_ILLEGAL" in message.error
    assert message.fallback.status == MessageStatus.SENT
    assert len(mailbox.messages) == 1
    assert [r.verdict for r in aliyun.requests] == ["isv.SMS_TEMPLATE_ILLEGAL"]


@pytest.mark.django_db
def test_smtp_refusing_then_accepting_delivers_once(
    wang: Any, smtp: Any, email_text: Any, mailbox: Mailbox
) -> None:
    mailbox.refuse.append("451 4.3.0 try again later")
    message = queue(wang, email_text)
    assert send_due(now=NOON)["retry"] == 1
    assert mailbox.messages == []
    assert send_due(now=NOON + timedelta(minutes=2))["sent"] == 1
    assert send_due(now=NOON + timedelta(minutes=20)) == {}
    assert len(mailbox.messages) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_smtp_permanent_refusal_is_shown_as_failed(
    wang: Any, smtp: Any, email_text: Any, mailbox: Mailbox
) -> None:
    mailbox.refuse.append("550 5.1.1 no such mailbox")
    message = queue(wang, email_text)
    assert send_due(now=NOON)["failed"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "550" in message.error


@pytest.mark.django_db
def test_opt_out_after_queueing_suppresses_the_message(
    wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    message = queue(wang, sms_text, quiet=None)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=NOON + timedelta(hours=1))
    do_opt_out(wang, channel="sms", source="reply", actor=None)
    send_due(now=NOON + timedelta(hours=2))
    message.refresh_from_db()
    assert (message.status, message.reason) == (MessageStatus.SUPPRESSED, "opted_out")
    assert aliyun.requests == []
    wang.refresh_from_db()
    assert wang.consent_sms is False


@pytest.mark.django_db
def test_opt_out_taken_after_claim_is_still_honoured(
    wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    # The sender re-checks opt-outs itself, even for a message do_opt_out did not catch.
    message = queue(wang, sms_text)
    from huitouke.messaging.models import OptOut

    OptOut.objects.create(
        organisation=wang.organisation, customer=wang, channel="all", source="manual"
    )
    assert send_due(now=NOON)["suppressed"] == 1
    message.refresh_from_db()
    assert message.reason == "opted_out" and aliyun.requests == []


@pytest.mark.django_db
def test_quiet_hours_postpone_to_nine_and_do_not_drop(wang: Any, sms: Any, sms_text: Any) -> None:
    evening = local(2026, 3, 2, 22, 30)
    message = queue(wang, sms_text, now=evening)
    assert message.next_attempt_at == local(2026, 3, 3, 9, 0)
    assert send_due(now=local(2026, 3, 3, 2, 0)) == {}
    assert send_due(now=local(2026, 3, 3, 9, 0))["sent"] == 1


@pytest.mark.django_db
def test_a_late_sender_does_not_send_into_quiet_hours(wang: Any, sms: Any, sms_text: Any) -> None:
    message = queue(wang, sms_text, now=local(2026, 3, 2, 20, 59))
    # The worker was down; it comes back at 23:00.
    assert send_due(now=local(2026, 3, 2, 23, 0))["postponed"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == (
        MessageStatus.QUEUED,
        0,
        local(2026, 3, 3, 9, 0),
    )


@pytest.mark.django_db
def test_same_key_enqueued_twice_is_one_message(wang: Any, sms: Any, sms_text: Any) -> None:
    first = queue(wang, sms_text, key="rule:1:x")
    second = queue(wang, sms_text, key="rule:1:x")
    assert first.pk == second.pk and Message.objects.count() == 1


@pytest.mark.django_db
def test_a_worker_dying_mid_send_is_released_and_retried(
    wang: Any, sms: Any, sms_text: Any, aliyun: AliyunFakeServer
) -> None:
    message = queue(wang, sms_text)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=NOON, attempts=1
    )
    assert send_due(now=NOON + timedelta(minutes=5)) == {}  # still "sending": not touched
    assert send_due(now=NOON + timedelta(minutes=16))["sent"] == 1
    assert len(aliyun.requests) == 1


@pytest.mark.django_db
def test_no_channel_set_up_suppresses_with_the_reason(wang: Any, sms_text: Any) -> None:
    message = queue(wang, sms_text)
    assert (message.status, message.reason) == (MessageStatus.SUPPRESSED, "no_channel")


@pytest.mark.django_db
def test_staff_task_channel_creates_a_task_with_the_script(wang: Any, staff_a: Any) -> None:
    from huitouke.followups.models import FollowUpTask

    wang.owner = staff_a
    wang.save()
    script = MessageTemplate.objects.create(
        organisation=wang.organisation,
        name="电话",
        channel=Channel.TASK,
        subject="生日电话",
        body="给{{ salutation }}打电话祝生日快乐",
    )
    message = queue(wang, script)
    assert send_due(now=NOON)["sent"] == 1
    send_due(now=NOON + timedelta(hours=1))
    [task] = FollowUpTask.objects.all()
    assert (task.assignee, task.title, task.script) == (
        staff_a,
        "生日电话",
        "给王女士打电话祝生日快乐",
    )
    message.refresh_from_db()
    assert message.task_id == task.pk
