"""Each action happens once per occurrence: scheduler run twice, killed midway, two workers."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from tests.automation.conftest import local, make_rule, send_sms
from tests.helpers import make_customer

from huitouke.automation import engine
from huitouke.automation.models import Enrolment, EnrolmentStatus, RuleRun, Trigger
from huitouke.loyalty.models import Coupon, CouponTemplate
from huitouke.messaging.models import Message, MessageStatus
from huitouke.messaging.outbox import send_due


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it on the way."""


def birthday_rule(org: Any, sms_template: Any, **fields: Any) -> Any:
    coupon = CouponTemplate.objects.create(
        organisation=org,
        name="生日券",
        kind="no_threshold",
        amount=Decimal("20"),
        valid_days=30,
        per_customer_limit=None,
    )
    return make_rule(
        org,
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0},
        holdout_share=Decimal("0"),
        actions=[{"type": "issue_coupon", "coupon_template": coupon.pk}, *send_sms(sms_template)],
        **fields,
    )


@pytest.mark.django_db
def test_scheduler_run_twice_acts_once(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any, sms_server: Any
) -> None:
    rule = birthday_rule(org, sms_template)
    her = make_customer(
        org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20
    )
    make_customer(org, name="张敏", gender="f", home_store=store1, birth_month=5, birth_day=21)

    for tick in (
        local(2026, 5, 20, 0, 1),
        local(2026, 5, 20, 0, 2),
        local(2026, 5, 20, 9, 0),
        local(2026, 5, 20, 9, 1),
    ):
        engine.run_scheduler(now=tick)
        send_due(now=tick)

    [enrolment] = Enrolment.objects.all()
    assert (enrolment.customer, enrolment.occurrence_key, enrolment.status) == (
        her,
        "birthday:2026",
        "done",
    )
    assert enrolment.due_at == local(2026, 5, 20, 9, 0)
    assert RuleRun.objects.filter(rule=rule).count() == 1
    assert Coupon.objects.filter(customer=her).count() == 1
    [message] = Message.objects.all()
    assert message.status == MessageStatus.SENT
    assert [r.verdict for r in sms_server.requests] == ["OK"]
    # Next year is a new occurrence.
    engine.run_scheduler(now=local(2027, 5, 20, 9, 0))
    assert sorted(Enrolment.objects.values_list("occurrence_key", flat=True)) == [
        "birthday:2026",
        "birthday:2027",
    ]


@pytest.mark.django_db
def test_killed_midway_then_restarted_acts_once_and_loses_nothing(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any, monkeypatch: Any
) -> None:
    birthday_rule(org, sms_template)
    customers = [
        make_customer(
            org, name=f"顾客{i}", gender="f", home_store=store1, birth_month=5, birth_day=20
        )
        for i in range(4)
    ]
    real_enqueue = engine.enqueue_message
    calls = {"n": 0}

    def dies_on_third(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed
        return real_enqueue(**kwargs)

    monkeypatch.setattr(engine, "enqueue_message", dies_on_third)
    with pytest.raises(Killed):
        engine.run_scheduler(now=local(2026, 5, 20, 9, 0))
    # Two enrolments acted before the "crash", with their coupon and message; the third rolled back.
    assert Enrolment.objects.filter(status=EnrolmentStatus.DONE).count() == 2
    assert Enrolment.objects.filter(status=EnrolmentStatus.SCHEDULED).count() == 2
    assert Coupon.objects.count() == Message.objects.count() == 2

    monkeypatch.setattr(engine, "enqueue_message", real_enqueue)
    engine.run_scheduler(now=local(2026, 5, 20, 9, 5))
    engine.run_scheduler(now=local(2026, 5, 20, 9, 6))
    assert Enrolment.objects.filter(status=EnrolmentStatus.DONE).count() == 4
    for customer in customers:
        assert Coupon.objects.filter(customer=customer).count() == 1
        assert Message.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_killed_during_the_daily_pass_redoes_the_day(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any, monkeypatch: Any
) -> None:
    rule = birthday_rule(org, sms_template)
    make_customer(org, name="王丽", gender="f", home_store=store1, birth_month=5, birth_day=20)
    real_enrol = engine.enrol

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(engine, "enrol", dies)
    with pytest.raises(Killed):
        engine.run_daily(now=local(2026, 5, 20, 0, 1))
    assert not RuleRun.objects.filter(rule=rule).exists()
    monkeypatch.setattr(engine, "enrol", real_enrol)
    engine.run_daily(now=local(2026, 5, 20, 0, 2))
    assert Enrolment.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_act_once(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any, sms_server: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("real parallel connections need PostgreSQL")
    birthday_rule(org, sms_template)
    for i in range(6):
        make_customer(
            org, name=f"顾客{i}", gender="f", home_store=store1, birth_month=5, birth_day=20
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for minute in range(3):
                now = local(2026, 5, 20, 9, minute)
                engine.run_scheduler(now=now)
                send_due(now=now)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert RuleRun.objects.count() == 1
    assert Enrolment.objects.filter(status=EnrolmentStatus.DONE).count() == 6
    assert Coupon.objects.count() == 6
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 6
    # The provider saw each message once.
    assert len(sms_server.requests) == 6
    assert len({r.query["OutId"] for r in sms_server.requests}) == 6


@pytest.mark.django_db
def test_later_ticks_of_the_day_do_not_rescan_customers(
    org: Any, store1: Any, sms_template: Any, django_assert_max_num_queries: Any
) -> None:
    birthday_rule(org, sms_template)
    for i in range(5):
        make_customer(org, name=f"顾客{i}", birth_month=5, birth_day=20)
    engine.run_daily(now=local(2026, 5, 20, 0, 1))
    # Every further minute of the day: the active rules and their last runs, nothing else.
    with django_assert_max_num_queries(2):
        engine.run_daily(now=local(2026, 5, 20, 0, 2))


@pytest.mark.django_db
def test_a_backlog_is_worked_through_within_the_time_budget(
    org: Any, store1: Any, sms_channel: Any, sms_template: Any
) -> None:
    birthday_rule(org, sms_template)
    for i in range(5):
        make_customer(
            org, name=f"顾客{i}", gender="f", home_store=store1, birth_month=5, birth_day=20
        )
    engine.run_daily(now=local(2026, 5, 20, 0, 1))
    assert engine.process_due(now=local(2026, 5, 20, 9, 0), limit=2) == {"done": 2}
    assert engine.process_due(now=local(2026, 5, 20, 9, 0), limit=2, budget_seconds=30) == {
        "done": 3
    }
    assert send_due(now=local(2026, 5, 20, 9, 0), limit=2, budget_seconds=30) == {"sent": 5}
