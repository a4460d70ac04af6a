"""Controls: frequency cap across rules, opt-outs and consent, holdout, quiet hours."""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from tests.automation.conftest import local, make_rule, make_sms_template, send_sms
from tests.helpers import make_customer

from huitouke.automation import engine
from huitouke.automation.actions import new_rule
from huitouke.automation.holdout import holdout_draw, in_holdout
from huitouke.automation.models import Enrolment, EnrolmentStatus, Trigger
from huitouke.automation.rule_actions import clean_rule
from huitouke.automation.triggers import Occurrence
from huitouke.messaging.actions import ensure_settings
from huitouke.messaging.models import Message, MessageStatus, MessageTemplate
from huitouke.messaging.opt_outs import do_opt_out
from huitouke.messaging.quiet import in_quiet_hours, postpone

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sms_template(org: Any) -> MessageTemplate:
    """These rules give no coupon: a text without a coupon code (one needing it is not sent)."""
    return make_sms_template(
        org, name="关怀短信", body="{{ salutation }}，祝您生活愉快！", sms_params=["salutation"]
    )


def birthday(org: Any, template: Any, **fields: Any) -> Any:
    fields.setdefault("holdout_share", Decimal("0"))
    return make_rule(
        org,
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0},
        actions=send_sms(template),
        **fields,
    )


def festival(org: Any, template: Any, **fields: Any) -> Any:
    fields.setdefault("holdout_share", Decimal("0"))
    return make_rule(
        org,
        trigger=Trigger.FESTIVAL,
        params={"custom": [{"name": "店庆", "month": 5, "day": 20}]},
        actions=send_sms(template),
        **fields,
    )


def run(day: date, hour: int = 9) -> None:
    engine.run_scheduler(now=local(day.year, day.month, day.day, hour, 0))


@pytest.mark.django_db
def test_frequency_cap_across_two_rules_suppresses_with_the_reason(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    first = birthday(org, sms_template, name="生日")
    second = festival(org, sms_template, name="店庆")
    care = festival(org, sms_template, name="关怀", cap_exempt=True)
    her = make_customer(
        org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20
    )
    run(date(2026, 5, 20))

    statuses = {e.rule_id: (e.status, e.reason) for e in Enrolment.objects.all()}
    # Rules act in enrolment order; whichever came second among the capped two is suppressed.
    capped = [
        pk
        for pk in (first.pk, second.pk)
        if statuses[pk] == (EnrolmentStatus.SUPPRESSED, "frequency_cap")
    ]
    assert len(capped) == 1
    assert statuses[care.pk] == (EnrolmentStatus.DONE, "")
    suppressed = Message.objects.get(rule_id=capped[0])
    assert (suppressed.status, suppressed.reason) == (MessageStatus.SUPPRESSED, "frequency_cap")
    assert Message.objects.filter(customer=her, status=MessageStatus.QUEUED).count() == 2


@pytest.mark.django_db
def test_the_cap_lasts_thirty_days(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    festival(org, sms_template)
    later = birthday(org, sms_template, name="生日")
    wang = make_customer(
        org, name="王丽", gender="f", home_store=store1, birth_month=6, birth_day=18
    )
    zhang = make_customer(
        org, name="张敏", gender="f", home_store=store1, birth_month=6, birth_day=20
    )
    run(date(2026, 5, 20))  # both get the 店庆 message
    run(date(2026, 6, 18))  # 29 days later
    run(date(2026, 6, 20))  # 31 days later
    assert Enrolment.objects.get(rule=later, customer=wang).reason == "frequency_cap"
    assert Enrolment.objects.get(rule=later, customer=zhang).status == EnrolmentStatus.DONE


@pytest.mark.django_db
def test_the_allowance_is_a_setting(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    rules = ensure_settings(org)
    rules.cap_messages = 2
    rules.save()
    festival(org, sms_template)
    birthday(org, sms_template, name="生日")
    festival(org, sms_template, name="第三条")
    make_customer(org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20)
    run(date(2026, 5, 20))
    assert sorted(Enrolment.objects.values_list("status", flat=True)) == [
        "done",
        "done",
        "suppressed",
    ]


@pytest.mark.django_db
def test_cap_counts_only_messages_that_go_out(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    first = birthday(org, sms_template, name="生日")
    second = festival(org, sms_template, name="店庆")
    her = make_customer(
        org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20
    )
    ensure_settings(org)
    engine.evaluate_rule_day(first, date(2026, 5, 20))
    engine.process_due(now=local(2026, 5, 20, 9, 0))
    # The first message failed for good: it did not reach her, so it does not use up her allowance.
    Message.objects.filter(customer=her).update(status=MessageStatus.FAILED)
    engine.evaluate_rule_day(second, date(2026, 5, 20))
    engine.process_due(now=local(2026, 5, 20, 9, 1))
    assert Enrolment.objects.get(rule=second).status == EnrolmentStatus.DONE


@pytest.mark.django_db
def test_opt_out_and_consent_suppress_marketing_with_the_reason(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    marketing = birthday(org, sms_template, name="营销")
    care = festival(org, sms_template, name="关怀", is_marketing=False, cap_exempt=True)
    opted = make_customer(
        org, name="退订", gender="f", home_store=store1, birth_month=5, birth_day=20
    )
    no_consent = make_customer(
        org,
        name="未同意",
        gender="f",
        home_store=store1,
        birth_month=5,
        birth_day=20,
        consent_sms=False,
    )
    do_opt_out(opted, channel="sms", source="reply", actor=None)
    run(date(2026, 5, 20))

    def outcome(rule: Any, customer: Any) -> tuple[str, str]:
        enrolment = Enrolment.objects.get(rule=rule, customer=customer)
        return enrolment.status, enrolment.reason

    assert outcome(marketing, opted) == (EnrolmentStatus.SUPPRESSED, "opted_out")
    assert outcome(marketing, no_consent) == (EnrolmentStatus.SUPPRESSED, "no_consent")
    # An opt-out covers care messages on that channel too; missing marketing consent does not.
    assert outcome(care, opted) == (EnrolmentStatus.SUPPRESSED, "opted_out")
    assert outcome(care, no_consent) == (EnrolmentStatus.DONE, "")


@pytest.mark.django_db
def test_opted_out_of_sms_is_reached_by_the_fallback_channel(
    org: Any,
    store1: Any,
    sms_channel: Any,
    email_channel: Any,
    sms_template: Any,
    email_template: Any,
) -> None:
    action = {
        **send_sms(sms_template)[0],
        "fallback_channel": "email",
        "fallback_template": email_template.pk,
    }
    make_rule(
        org, trigger=Trigger.BIRTHDAY, params={}, holdout_share=Decimal("0"), actions=[action]
    )
    her = make_customer(
        org,
        name="王丽",
        gender="f",
        home_store=store1,
        birth_month=5,
        birth_day=20,
        email="wl@example.test",
    )
    do_opt_out(her, channel="sms", source="manual", actor=None)
    run(date(2026, 5, 20))
    assert Enrolment.objects.get().status == EnrolmentStatus.DONE
    assert sorted(Message.objects.values_list("channel", "status", "reason")) == [
        ("email", "queued", ""),
        ("sms", "suppressed", "opted_out"),
    ]


@pytest.mark.django_db
def test_holdout_is_recorded_not_contacted_and_deterministic(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    rule = birthday(org, sms_template, holdout_share=Decimal("0.5"))
    customers = [
        make_customer(
            org, name=f"顾客{i}", gender="f", home_store=store1, birth_month=5, birth_day=20
        )
        for i in range(16)
    ]
    run(date(2026, 5, 20))
    held = set(
        Enrolment.objects.filter(status=EnrolmentStatus.HOLDOUT).values_list(
            "customer_id", flat=True
        )
    )
    expected = {c.pk for c in customers if in_holdout(rule.pk, c.pk, Decimal("0.5"))}
    assert held == expected and 0 < len(held) < 16
    assert not Message.objects.filter(customer_id__in=held).exists()
    assert Message.objects.filter(rule=rule).count() == 16 - len(held)
    # Next year the same customers are held out again.
    run(date(2027, 5, 20))
    assert (
        set(
            Enrolment.objects.filter(
                occurrence_key="birthday:2027", status=EnrolmentStatus.HOLDOUT
            ).values_list("customer_id", flat=True)
        )
        == held
    )


def test_holdout_share_is_within_statistical_bounds() -> None:
    n, share = 20_000, 0.10
    held = sum(in_holdout(7, customer_id, Decimal("0.10")) for customer_id in range(1, n + 1))
    # Binomial(20000, 0.1): sd = sqrt(n p (1-p)) ≈ 42.4; 4 sd either side.
    assert abs(held - n * share) < 4 * math.sqrt(n * share * (1 - share))
    # Other rules draw independently: the overlap of two 10% holdouts is about 1%.
    both = sum(in_holdout(7, c, 0.1) and in_holdout(8, c, 0.1) for c in range(1, n + 1))
    assert abs(both - n * 0.01) < 4 * math.sqrt(n * 0.01 * 0.99)
    assert all(0 <= holdout_draw(1, c) < 1 for c in range(1, 100))


def test_quiet_hours_across_midnight() -> None:
    start, end = time(21), time(9)
    assert in_quiet_hours(time(21, 0), start, end) and in_quiet_hours(time(3, 0), start, end)
    assert not in_quiet_hours(time(9, 0), start, end) and not in_quiet_hours(
        time(20, 59), start, end
    )
    late = local(2026, 12, 31, 23, 15)
    assert postpone(late, start, end, SHANGHAI) == local(2027, 1, 1, 9, 0)
    assert postpone(local(2027, 1, 1, 0, 30), start, end, SHANGHAI) == local(2027, 1, 1, 9, 0)
    assert postpone(local(2027, 1, 1, 12, 0), start, end, SHANGHAI) == local(2027, 1, 1, 12, 0)
    # A daytime window (a lunch break) and an empty one.
    assert postpone(local(2027, 1, 1, 12, 30), time(12), time(14), SHANGHAI) == local(
        2027, 1, 1, 14, 0
    )
    assert postpone(late, time(0), time(0), SHANGHAI) == late


@pytest.mark.django_db
def test_an_evening_event_is_messaged_the_next_morning(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    from huitouke.messaging.outbox import send_due

    rule = make_rule(
        org, trigger=Trigger.ORDER_PAID, holdout_share=Decimal("0"), actions=send_sms(sms_template)
    )
    her = make_customer(org, name="王丽", gender="f", home_store=store1)
    # As on_order_paid enrols her for an order paid at 22:30.
    engine.enrol(rule, [Occurrence(her.pk, "order:1", local(2026, 5, 20, 22, 30))])
    assert engine.process_due(now=local(2026, 5, 20, 22, 30)) == {"done": 1}
    message = Message.objects.get()
    assert message.next_attempt_at == local(2026, 5, 21, 9, 0)
    assert send_due(now=local(2026, 5, 21, 8, 59)) == {}
    assert send_due(now=local(2026, 5, 21, 9, 0)) == {"sent": 1}
    assert timedelta(0) < message.next_attempt_at - message.created_at < timedelta(hours=11)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_bad_rule_condition_is_named_in_words_without_its_path(org: Any, lang: str) -> None:
    """Issue 15 item 2: the rule's extra conditions are refused with the compiler's message (the
    field by its name, in the user's language), never with an identifier such as
    "conditions.0.value" in front of it."""
    rule = new_rule(
        org,
        name="条件",
        actions=[{"type": "create_task", "title": "回访"}],
        conditions={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "store", "op": "in", "value": "滨江"}],
        },
    )
    with translation.override(lang), pytest.raises(ValidationError) as caught:
        clean_rule(rule)
    messages = caught.value.message_dict["conditions"]
    assert messages, caught.value.message_dict
    label = "门店" if lang == "zh-hans" else "store"
    for message in messages:
        assert "conditions." not in message and "value:" not in message, message
        assert label in message.lower() or label in message, message
