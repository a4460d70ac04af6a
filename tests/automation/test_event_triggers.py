"""Event triggers enrol inside the event's transaction, once per event, and act after the delay."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.automation.conftest import make_rule, send_sms
from tests.helpers import make_customer, make_order

from huitouke.automation import engine
from huitouke.automation.models import Enrolment, EnrolmentStatus, Trigger
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Coupon, CouponTemplate
from huitouke.messaging.models import Message
from huitouke.sales.actions import do_refund_order

TAG = [{"type": "add_tag", "tag": "reached"}]


@pytest.mark.django_db
def test_welcome_coupon_ten_minutes_after_sign_up(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    coupon = CouponTemplate.objects.create(
        organisation=org, name="新客券", kind="no_threshold", amount=Decimal("20"), valid_days=30
    )
    make_rule(
        org,
        trigger=Trigger.CUSTOMER_CREATED,
        delay_minutes=10,
        holdout_share=Decimal("0"),
        quiet_start=None,
        quiet_end=None,
        actions=[{"type": "issue_coupon", "coupon_template": coupon.pk}, *send_sms(sms_template)],
    )
    before = timezone.now()
    her = make_customer(org, name="王丽", gender="f", home_store=store1)
    [enrolment] = Enrolment.objects.all()
    assert enrolment.occurrence_key == "created"
    assert (
        before + timedelta(minutes=10) <= enrolment.due_at <= timezone.now() + timedelta(minutes=10)
    )

    assert engine.process_due(now=enrolment.due_at - timedelta(seconds=1)) == {}
    assert engine.process_due(now=enrolment.due_at) == {"done": 1}
    [issued] = Coupon.objects.filter(customer=her)
    [message] = Message.objects.filter(customer=her)
    assert issued.code in message.body and message.enrolment_id == enrolment.pk
    # Editing her later is not "created" again.
    her.notes = "喜欢玫瑰"
    her.save()
    assert Enrolment.objects.count() == 1


@pytest.mark.django_db
def test_order_paid_with_a_minimum_and_not_for_imported_history(org: Any, store1: Any) -> None:
    big = make_rule(org, trigger=Trigger.ORDER_PAID, params={"min_amount": "1000"}, actions=TAG)
    first = make_rule(
        org, trigger=Trigger.ORDER_PAID, params={"first_order_only": True}, actions=TAG
    )
    her = make_customer(org, name="王丽")
    order = make_order(her, store1, unit_price="1280")
    make_order(her, store1, unit_price="100")
    make_order(her, store1, unit_price="5000", placed_at=timezone.now() - timedelta(days=30))
    assert list(
        Enrolment.objects.filter(rule=big).values_list("occurrence_key", "event_order_id")
    ) == [(f"order:{order.pk}", order.pk)]
    assert list(Enrolment.objects.filter(rule=first).values_list("occurrence_key", flat=True)) == [
        f"order:{order.pk}"
    ]


@pytest.mark.django_db
def test_an_order_that_rolls_back_enrols_nobody(org: Any, store1: Any) -> None:
    from django.db import transaction

    make_rule(org, trigger=Trigger.ORDER_PAID, actions=TAG)
    her = make_customer(org, name="王丽")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_order(her, store1)
        raise RuntimeError("payment reversed")
    assert not Enrolment.objects.exists()


@pytest.mark.django_db
def test_refund_and_tier_change(org: Any, store1: Any, owner: Any) -> None:
    from huitouke.loyalty.actions import ensure_program

    ensure_program(org)
    refunded = make_rule(org, trigger=Trigger.ORDER_REFUNDED, actions=TAG, is_marketing=False)
    upgraded = make_rule(org, trigger=Trigger.TIER_CHANGED, params={"direction": "up"}, actions=TAG)
    downgraded = make_rule(
        org, trigger=Trigger.TIER_CHANGED, params={"direction": "down"}, actions=TAG
    )
    her = make_customer(org, name="王丽")
    order = make_order(her, store1, unit_price="400")  # 普通 -> 银卡
    refund = do_refund_order(order=order, actor=owner)  # 银卡 -> 普通
    assert list(
        Enrolment.objects.filter(rule=refunded).values_list("occurrence_key", flat=True)
    ) == [f"refund:{refund.pk}"]
    assert Enrolment.objects.filter(rule=upgraded).count() == 1
    assert Enrolment.objects.filter(rule=downgraded).count() == 1


@pytest.mark.django_db
def test_conditions_are_checked_when_acting(org: Any, store1: Any) -> None:
    vip_only = {
        "version": 1,
        "match": "all",
        "conditions": [{"field": "tags", "op": "any", "value": ["VIP"]}],
    }
    rule = make_rule(org, trigger=Trigger.ORDER_PAID, conditions=vip_only, actions=TAG)
    her = make_customer(org, name="王丽")
    make_order(her, store1)
    assert engine.process_due(now=timezone.now()) == {EnrolmentStatus.SKIPPED: 1}
    assert Enrolment.objects.get(rule=rule).reason == "conditions"
    assert not Customer.objects.get(pk=her.pk).tags.exists()


@pytest.mark.django_db
def test_a_rule_switched_off_skips_its_scheduled_enrolments(org: Any) -> None:
    from huitouke.automation.actions import do_set_rule_active

    rule = make_rule(org, trigger=Trigger.CUSTOMER_CREATED, delay_minutes=60, actions=TAG)
    make_customer(org, name="王丽")
    do_set_rule_active(rule, False, actor=None)
    assert engine.process_due(now=timezone.now() + timedelta(hours=2)) == {
        EnrolmentStatus.SKIPPED: 1
    }


@pytest.mark.django_db
def test_every_action_kind(org: Any, store1: Any, staff_a: Any) -> None:
    from huitouke.followups.models import FollowUpTask
    from huitouke.loyalty.models import LoyaltyAccount

    make_customer(org, name="旧标签", tags=["沉睡"])
    rule = make_rule(
        org,
        trigger=Trigger.CUSTOMER_CREATED,
        is_marketing=False,
        actions=[
            {"type": "add_tag", "tag": "新客"},
            {"type": "remove_tag", "tag": "沉睡"},
            {"type": "award_points", "points": 200},
            {
                "type": "create_task",
                "kind": "wechat",
                "title": "加微信",
                "script": "{{ salutation }}加微信，送{{ points }}积分",
            },
        ],
    )
    her = make_customer(org, name="王丽", gender="f", owner=staff_a, tags=["沉睡"])
    engine.process_due(now=timezone.now())
    her.refresh_from_db()
    assert list(her.tags.values_list("name", flat=True)) == ["新客"]
    assert LoyaltyAccount.objects.get(pk=her.pk).balance == 200
    [task] = FollowUpTask.objects.filter(customer=her)
    assert (task.kind, task.title, task.assignee, task.script) == (
        "wechat",
        "加微信",
        staff_a,
        "王女士加微信，送200积分",
    )
    assert Enrolment.objects.get(rule=rule, customer=her).detail["task_ids"] == [task.pk]
