"""WeCom as an outbox channel: due messages become one 群发 task per sender, results come back
into the outbox, a customer without a WeCom link falls back to the rule's next channel, and the
frequency cap holds across channels. Against the real local WeCom stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.customers.models import Customer
from huitouke.messaging.actions import enqueue_message, ensure_settings
from huitouke.messaging.models import Channel, Message, MessageStatus, MessageTemplate
from huitouke.messaging.outbox import send_due
from huitouke.wecom.channel import refresh_waiting
from huitouke.wecom.models import RecipientStatus, WeComConnection, WeComGroupRecipient
from huitouke.wecom.sync import do_sync_contacts
from tests.automation.conftest import local
from tests.helpers import make_customer
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db

NOON = local(2026, 3, 2, 12, 0)
TEXT = "中秋快乐，到店领月饼"


@pytest.fixture
def linked(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User, staff_b: User
) -> dict[str, Customer]:
    """甲 and 乙 are contacts of staff A's WeCom member, 丙 of staff B's; 丁 has no WeCom."""
    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    standin.add_contact("wm1", "甲", {"ua": {}})
    standin.add_contact("wm2", "乙", {"ua": {}})
    standin.add_contact("wm3", "丙", {"ub": {}})
    do_sync_contacts(connection, actor=owner)
    # A synced contact's marketing consent is unknown until she gives it (issue 15 item 4): these
    # three gave it for WeChat.
    Customer.objects.filter(organisation=connection.organisation).update(consent_wechat=True)
    make_customer(connection.organisation, name="丁", owner=staff_a)
    return {c.name: c for c in Customer.objects.filter(organisation=connection.organisation)}


@pytest.fixture
def templates(org: Any) -> tuple[MessageTemplate, MessageTemplate]:
    wecom = MessageTemplate.objects.create(
        organisation=org, name="中秋", channel=Channel.WECOM, body=TEXT
    )
    task = MessageTemplate.objects.create(
        organisation=org, name="中秋回访", channel=Channel.TASK, body="请微信问候：" + TEXT
    )
    return wecom, task


def _queue(customer: Customer, templates: Any, key: str, now: Any = NOON) -> Message:
    wecom, task = templates
    return enqueue_message(
        customer=customer,
        channel=Channel.WECOM,
        template=wecom,
        idempotency_key=key,
        is_marketing=True,
        fallback_channel=Channel.TASK,
        fallback_template=task,
        now=now,
    )


def test_the_wecom_channel_round_trip(
    linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    queued = {name: _queue(c, templates, f"mid-autumn:{c.pk}") for name, c in linked.items()}
    # 丁 has no WeCom follow: her message is "no address" and the rule's next channel takes over.
    assert queued["丁"].channel == Channel.TASK
    assert queued["丁"].fallback_of.reason == "no_address"
    assert {n: m.recipient for n, m in queued.items() if n != "丁"} == {
        "甲": "wm1",
        "乙": "wm2",
        "丙": "wm3",
    }

    outcomes = send_due(now=NOON)
    # 甲's send takes 乙 into its task (乙's own turn is then skipped); 丙's task; 丁's staff task.
    assert (outcomes["sent"], outcomes["skipped"]) == (3, 1)
    tasks = sorted(standin.msg_templates.values(), key=lambda t: t["sender"])
    assert [(t["sender"], sorted(t["ids"])) for t in tasks] == [
        ("ua", ["wm1", "wm2"]),
        ("ub", ["wm3"]),
    ]
    sent = {
        m.customer.name: m
        for m in Message.objects.filter(channel=Channel.WECOM).exclude(customer=linked["丁"])
    }
    assert {m.status for m in sent.values()} == {MessageStatus.SENT}
    assert {m.provider for m in sent.values()} == {"wecom"}
    assert sent["甲"].provider_message_id == sent["乙"].provider_message_id != ""
    assert sent["丙"].provider_message_id in standin.msg_templates
    # Nothing goes twice: the next run finds nothing due on WeCom.
    send_due(now=NOON)
    assert len(standin.msg_templates) == 2

    # Results: 甲 and 丙 received it; 乙 was over WeCom's monthly receive limit, so she fails
    # over to the staff task, like any failed message with a fallback.
    standin.send_status["wm2"] = 3
    assert refresh_waiting() == 2
    for m in sent.values():
        m.refresh_from_db()
    assert sent["甲"].delivered_at is not None and sent["丙"].delivered_at is not None
    assert (sent["乙"].status, sent["乙"].delivered_at) == (MessageStatus.FAILED, None)
    assert Message.objects.get(fallback_of=sent["乙"]).channel == Channel.TASK
    statuses = dict(WeComGroupRecipient.objects.values_list("external_userid", "status"))
    assert statuses == {
        "wm1": RecipientStatus.SENT,
        "wm2": RecipientStatus.LIMIT,
        "wm3": RecipientStatus.SENT,
    }
    assert refresh_waiting() == 0  # every result is in


def test_the_frequency_cap_covers_the_wecom_channel(
    org: Any, linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    rules = ensure_settings(org)
    rules.cap_messages, rules.cap_days = 1, 30
    rules.save()
    first = _queue(linked["甲"], templates, "one")
    send_due(now=NOON)
    first.refresh_from_db()
    assert first.status == MessageStatus.SENT
    second = _queue(linked["甲"], templates, "two")
    assert (second.status, second.reason) == (MessageStatus.SUPPRESSED, "frequency_cap")
    # A cap covers every channel: no fallback either.
    assert not Message.objects.filter(fallback_of=second).exists()
    send_due(now=NOON)
    assert len(standin.msg_templates) == 1


def test_a_contact_wecom_refuses_fails_over(
    linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    message = _queue(linked["丙"], templates, "k")
    # She deleted staff B in WeChat before the callback told us: WeCom's fail_list names her.
    del standin.contacts["wm3"].follows["ub"]
    assert send_due(now=NOON)["failed"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert Message.objects.get(fallback_of=message).channel == Channel.TASK
    assert WeComGroupRecipient.objects.get().status == RecipientStatus.NOT_FRIEND


def test_an_opt_out_of_wechat_stops_the_wecom_channel(
    linked: dict[str, Customer], templates: Any, owner: User, standin: WeComStandIn
) -> None:
    from huitouke.messaging.opt_outs import do_opt_out

    do_opt_out(linked["甲"], channel="wechat", source="manual", actor=owner)
    message = _queue(linked["甲"], templates, "k")
    assert message.fallback_of is not None and message.fallback_of.reason == "opted_out"
    send_due(now=NOON)
    assert standin.msg_templates == {}


def test_an_automation_rule_sends_on_wecom_and_falls_back(
    org: Any, linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    from datetime import date
    from decimal import Decimal

    from huitouke.automation import engine
    from huitouke.automation.models import Trigger
    from huitouke.automation.queries import audience_preview
    from tests.automation.conftest import make_rule

    wecom, task = templates
    Customer.objects.filter(pk__in=[linked["甲"].pk, linked["丁"].pk]).update(
        birth_month=5, birth_day=20
    )
    rule = make_rule(
        org,
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0},
        holdout_share=Decimal("0"),
        actions=[
            {
                "type": "send_message",
                "channel": "wecom",
                "template": wecom.pk,
                "fallback_channel": "task",
                "fallback_template": task.pk,
            }
        ],
    )
    day = date(2026, 5, 20)
    preview = audience_preview(rule, now=local(day.year, day.month, day.day, 9, 0))
    # 丁 has no WeCom follow by her owner: her message goes on the fallback, a staff task, so
    # nobody is left out and the task channel carries hers.
    assert preview["suppressed"] == {}
    assert preview["by_channel"]["task"] == 1
    assert preview["by_channel"]["wecom"] == preview["contacted"] - 1
    engine.run_scheduler(now=local(day.year, day.month, day.day, 9, 0))
    assert sorted(Message.objects.values_list("customer__name", "channel", "status", "reason")) == [
        ("丁", "task", "queued", ""),
        ("丁", "wecom", "suppressed", "no_address"),
        ("甲", "wecom", "queued", ""),
    ]
    send_due(now=local(day.year, day.month, day.day, 10, 0))
    ((only),) = standin.msg_templates.values()
    assert (only["sender"], only["ids"]) == ("ua", ["wm1"])


def test_wecoms_monthly_receive_limit_sends_her_to_the_next_channel(
    org: Any, linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    rules = ensure_settings(org)
    rules.cap_messages = 20  # our own cap out of the way: this is WeCom's
    rules.save()
    # Four group messages this month (three of them sent on 1 March, one on 2 March at 09:00).
    for day, hour in ((1, 10), (1, 11), (1, 12), (2, 9)):
        at = local(2026, 3, day, hour, 0)
        message = _queue(linked["甲"], templates, f"earlier-{day}-{hour}", now=at)
        send_due(now=at)
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
    assert len(standin.msg_templates) == 4
    fifth = _queue(linked["甲"], templates, "fifth")
    assert send_due(now=NOON)["failed"] == 1
    fifth.refresh_from_db()
    assert fifth.status == MessageStatus.FAILED and "group message" in fifth.error
    assert Message.objects.get(fallback_of=fifth).channel == Channel.TASK
    assert len(standin.msg_templates) == 4  # nothing asked of WeCom
    # A new month, a new allowance.
    april_first = local(2026, 4, 1, 12, 0)
    april = _queue(linked["甲"], templates, "april", now=april_first)
    send_due(now=april_first)
    april.refresh_from_db()
    assert april.status == MessageStatus.SENT


def test_a_busy_wecom_is_retried_and_an_expired_token_renewed(
    linked: dict[str, Customer], templates: Any, standin: WeComStandIn
) -> None:
    from datetime import timedelta

    message = _queue(linked["丙"], templates, "k")
    standin.fail_next(-1, -1, -1, -1)  # system busy, more often than the client's own retries
    assert send_due(now=NOON)["retry"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert "-1" in message.error and standin.msg_templates == {}
    standin.expire_tokens()  # the cached token died meanwhile: renewed on 42001, then sent
    assert send_due(now=NOON + timedelta(hours=1))["sent"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id in standin.msg_templates
