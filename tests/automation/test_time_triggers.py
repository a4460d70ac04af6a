"""Time triggers on hand-made calendars: each fires on the right local day, once per occurrence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tests.automation.conftest import local, make_rule
from tests.helpers import make_customer, make_order

from huitouke.analytics.models import CustomerAnalytics, CustomerDue
from huitouke.automation import engine
from huitouke.automation.models import Enrolment, Trigger
from huitouke.automation.triggers import lunar_birthdays_on
from huitouke.core.occasions import lunar_birthday_in_year
from huitouke.customers.models import FamilyMember
from huitouke.sales.models import Category

TAG = [{"type": "add_tag", "tag": "greeted"}]


def rule(org: Any, trigger: str, **fields: Any) -> Any:
    fields.setdefault("holdout_share", Decimal("0"))
    return make_rule(org, trigger=trigger, actions=TAG, **fields)


def keys_on(rule_obj: Any, day: date) -> list[tuple[str, str]]:
    engine.evaluate_rule_day(rule_obj, day)
    found = Enrolment.objects.filter(rule=rule_obj, created_at__isnull=False)
    return sorted((e.customer.name, e.occurrence_key) for e in found)


def test_lunar_birthdays_match_a_brute_force_around_a_leap_month() -> None:
    # Lunar year 2025 has a leap sixth month (闰六月) between short and long months: every lunar
    # birthday of months 5 to 8, its celebration computed one by one, must be found by the
    # per-day lookup on that day and on no other day of those months.
    expected: dict[date, set[tuple[int, int, bool]]] = {}
    for month in range(5, 9):
        for day in range(1, 31):
            for leap in (False, True):
                when = lunar_birthday_in_year(month, day, 2025, leap)
                expected.setdefault(when, set()).add((month, day, leap))
    day = lunar_birthday_in_year(5, 1, 2025)
    while day <= lunar_birthday_in_year(8, 30, 2025):
        assert lunar_birthdays_on(day) == (2025, frozenset(expected.get(day, set()))), day
        day += timedelta(days=1)


@pytest.mark.django_db
def test_birthday_solar_and_lunar_on_the_right_days(org: Any, store1: Any) -> None:
    birthday = rule(org, Trigger.BIRTHDAY, params={"days_before": 0})
    make_customer(org, name="公历", birth_month=2, birth_day=7)
    # 腊月二十 of lunar year 2025 falls on 2026-02-07: in the next Gregorian year.
    make_customer(org, name="农历", birthday_kind="lunar", birth_month=12, birth_day=20)
    make_customer(org, name="无生日")

    assert keys_on(birthday, date(2025, 2, 7)) == [("公历", "birthday:2025")]
    assert keys_on(birthday, date(2026, 2, 7)) == [
        ("公历", "birthday:2025"),
        ("公历", "birthday:2026"),
        ("农历", "birthday:L2025"),
    ]
    [lunar] = Enrolment.objects.filter(customer__name="农历")
    assert lunar.due_at == local(2026, 2, 7, 9, 0)


@pytest.mark.django_db
def test_leap_month_birthday_and_feb_29(org: Any) -> None:
    birthday = rule(org, Trigger.BIRTHDAY, params={"days_before": 0})
    make_customer(
        org, name="闰月", birthday_kind="lunar", birth_month=6, birth_day=10, birth_leap_month=True
    )
    make_customer(org, name="六月", birthday_kind="lunar", birth_month=6, birth_day=10)
    make_customer(org, name="闰日", birth_month=2, birth_day=29)

    assert keys_on(birthday, date(2025, 7, 4)) == [("六月", "birthday:L2025")]
    assert keys_on(birthday, date(2025, 8, 3))[-1:] == [("闰月", "birthday:L2025")]
    # 2026 has no leap sixth month: both celebrate on the regular 六月初十.
    assert sorted(k for k in keys_on(birthday, date(2026, 7, 23)) if "L2026" in k[1]) == [
        ("六月", "birthday:L2026"),
        ("闰月", "birthday:L2026"),
    ]
    assert ("闰日", "birthday:2026") in keys_on(birthday, date(2026, 2, 28))


@pytest.mark.django_db
def test_birthday_n_days_before_at_the_chosen_hour(org: Any) -> None:
    early = rule(org, Trigger.BIRTHDAY, params={"days_before": 3, "hour": 10}, delay_minutes=30)
    make_customer(org, name="王丽", birth_month=5, birth_day=20)
    assert keys_on(early, date(2026, 5, 20)) == []
    assert keys_on(early, date(2026, 5, 17)) == [("王丽", "birthday:2026")]
    assert Enrolment.objects.get().due_at == local(2026, 5, 17, 10, 30)


@pytest.mark.django_db
def test_childs_birthday(org: Any) -> None:
    child_rule = rule(org, Trigger.CHILD_BIRTHDAY, params={"days_before": 1})
    mother = make_customer(org, name="妈妈")
    kid = FamilyMember.objects.create(
        customer=mother, relation="child", name="乐乐", birth_month=6, birth_day=1
    )
    FamilyMember.objects.create(
        customer=mother, relation="spouse", name="爸爸", birth_month=6, birth_day=1
    )
    assert keys_on(child_rule, date(2026, 5, 31)) == [("妈妈", f"child:{kid.pk}:2026")]


PUBLISHED = {
    # 春节 and 中秋 from the official calendar (国务院办公厅 holiday notices).
    2025: (date(2025, 1, 29), date(2025, 10, 6)),
    2026: (date(2026, 2, 17), date(2026, 9, 25)),
    2027: (date(2027, 2, 6), date(2027, 9, 15)),
    2028: (date(2028, 1, 26), date(2028, 10, 3)),
    2029: (date(2029, 2, 13), date(2029, 9, 22)),
    2030: (date(2030, 2, 3), date(2030, 9, 12)),
}


@pytest.mark.django_db
def test_festivals_fire_on_the_published_dates(org: Any) -> None:
    greeting = rule(org, Trigger.FESTIVAL, params={"festivals": ["spring_festival", "mid_autumn"]})
    make_customer(org, name="王丽")
    for year, (spring, autumn) in PUBLISHED.items():
        for day in (
            spring - timedelta(days=1),
            spring + timedelta(days=1),
            autumn - timedelta(days=1),
        ):
            engine.evaluate_rule_day(greeting, day)
        assert Enrolment.objects.filter(occurrence_key__endswith=f":{year}").count() == 0
        engine.evaluate_rule_day(greeting, spring)
        engine.evaluate_rule_day(greeting, autumn)
        assert sorted(
            Enrolment.objects.filter(occurrence_key__endswith=f":{year}").values_list(
                "occurrence_key", flat=True
            )
        ) == [f"festival:mid_autumn:{year}", f"festival:spring_festival:{year}"]


@pytest.mark.django_db
def test_custom_dates_solar_and_lunar(org: Any) -> None:
    params = {
        "custom": [
            {"name": "店庆", "month": 6, "day": 18},
            {"name": "腊八", "month": 12, "day": 8, "lunar": True},
        ],
        "days_before": 0,
    }
    greeting = rule(org, Trigger.FESTIVAL, params=params)
    make_customer(org, name="王丽")
    assert keys_on(greeting, date(2026, 6, 18)) == [("王丽", "festival:custom1:2026")]
    # 腊八 of lunar year 2025 is 2026-01-26.
    assert ("王丽", "festival:custom2:2026") in keys_on(greeting, date(2026, 1, 26))
    assert len(keys_on(greeting, date(2026, 1, 27))) == 2


@pytest.mark.django_db
def test_days_since_last_order_fires_once_when_she_crosses_the_threshold(
    org: Any, store1: Any
) -> None:
    silent = rule(org, Trigger.DAYS_SINCE_LAST_ORDER, params={"days": 90})
    her = make_customer(org, name="王丽")
    make_order(her, store1, placed_at=local(2026, 1, 1, 23, 30))  # late evening, local time
    for day in range(25, 32):  # March 25 .. 31
        engine.run_daily(now=local(2026, 3, day, 8, 0))
    assert not Enrolment.objects.exists()
    for _ in range(2):
        engine.run_daily(now=local(2026, 4, 1, 8, 0))
        engine.run_daily(now=local(2026, 4, 2, 8, 0))
    [enrolment] = Enrolment.objects.filter(rule=silent)
    assert enrolment.occurrence_key == "days_since:2026-01-01"
    # She buys again and goes quiet again: a new occurrence 90 days after that order.
    make_order(her, store1, placed_at=local(2026, 4, 5, 12, 0))
    engine.run_daily(now=local(2026, 7, 4, 8, 0))
    assert Enrolment.objects.filter(rule=silent).count() == 2


@pytest.mark.django_db
def test_a_missed_day_is_caught_up(org: Any) -> None:
    rule(org, Trigger.BIRTHDAY, params={"days_before": 0})
    make_customer(org, name="王丽", birth_month=5, birth_day=21)
    engine.run_daily(now=local(2026, 5, 20, 8, 0))
    # The worker was down on the 21st; on the 22nd the missed day is evaluated (late beats never).
    engine.run_daily(now=local(2026, 5, 22, 8, 0))
    assert Enrolment.objects.get().occurrence_key == "birthday:2026"


@pytest.mark.django_db
def test_repurchase_window(org: Any) -> None:
    serum = Category.objects.create(organisation=org, name="精华")
    mask = Category.objects.create(organisation=org, name="面膜")
    due_rule = rule(org, Trigger.REPURCHASE_DUE, params={"category": serum.pk})
    her = make_customer(org, name="王丽")
    other = make_customer(org, name="张敏")

    def due(customer: Any, category: Any, last: date, now: bool = True) -> None:
        CustomerDue.objects.update_or_create(
            customer=customer,
            category=category,
            defaults=dict(
                organisation=org,
                last_purchase_date=last,
                due_from_days=30,
                due_to_days=45,
                window_source="learned",
                due_now=now,
            ),
        )

    due(her, serum, date(2026, 1, 20))
    due(other, serum, date(2026, 1, 25), now=False)  # window opens next week
    due(other, mask, date(2026, 1, 10))  # another category
    assert keys_on(due_rule, date(2026, 3, 1)) == [("王丽", f"due:{serum.pk}:2026-01-20")]
    assert keys_on(due_rule, date(2026, 3, 2)) == [("王丽", f"due:{serum.pk}:2026-01-20")]
    due(other, serum, date(2026, 1, 25))
    due(her, serum, date(2026, 3, 5))  # she bought again: a new window later
    assert len(keys_on(due_rule, date(2026, 3, 3))) == 3


@pytest.mark.django_db
def test_first_order_anniversary(org: Any, store1: Any) -> None:
    anniversary = rule(org, Trigger.FIRST_ORDER_ANNIVERSARY, params={})
    her = make_customer(org, name="王丽")
    make_order(her, store1, placed_at=local(2025, 3, 10, 0, 30))  # 2025-03-09 16:30 UTC
    make_order(make_customer(org, name="新客"), store1, placed_at=local(2026, 3, 10, 0, 30))
    assert keys_on(anniversary, date(2026, 3, 9)) == []
    assert keys_on(anniversary, date(2026, 3, 10)) == [("王丽", "anniversary:2026")]


@pytest.mark.django_db
def test_near_next_tier(org: Any, store1: Any) -> None:
    from huitouke.loyalty.actions import ensure_program
    from huitouke.loyalty.models import Tier

    ensure_program(org)  # 普通 0, 银卡 300, 金卡 1000, 钻石 5000
    near = rule(org, Trigger.NEAR_NEXT_TIER, params={"within": "50"})
    for name, amount in (("差10", "290"), ("差40", "960"), ("差100", "200"), ("刚好", "300")):
        make_order(
            make_customer(org, name=name),
            store1,
            unit_price=amount,
            placed_at=local(2026, 3, 1, 12, 0),
        )
    silver, gold = (
        Tier.objects.get(organisation=org, threshold=300),
        Tier.objects.get(organisation=org, threshold=1000),
    )
    assert keys_on(near, date(2026, 3, 2)) == [
        ("差10", f"near_tier:{silver.pk}:2026"),
        ("差40", f"near_tier:{gold.pk}:2026"),
    ]


@pytest.mark.django_db
def test_lifecycle_change_fires_for_the_new_state_only(org: Any) -> None:
    winback = rule(org, Trigger.SEGMENT_CHANGED, params={"field": "lifecycle", "to": "silent"})
    rfm = rule(
        org, Trigger.SEGMENT_CHANGED, params={"field": "rfm_segment", "to": "big_spenders_at_risk"}
    )
    a, b, c = (make_customer(org, name=n) for n in ("甲", "乙", "丙"))

    def analytics(customer: Any, lifecycle: str, rfm_segment: str = "") -> None:
        CustomerAnalytics.objects.update_or_create(
            customer=customer,
            defaults={
                "organisation": org,
                "as_of": date(2026, 3, 1),
                "lifecycle": lifecycle,
                "rfm_segment": rfm_segment,
            },
        )

    analytics(a, "active", "champions")
    analytics(b, "silent")  # already silent when first seen: not a change
    engine.run_daily(now=local(2026, 3, 1, 8, 0))
    assert not Enrolment.objects.exists()
    analytics(a, "silent", "big_spenders_at_risk")
    analytics(c, "new")
    for hour in (8, 9):
        engine.run_daily(now=local(2026, 3, 2, hour, 0))
    assert sorted(
        Enrolment.objects.values_list("rule_id", "customer__name", "occurrence_key")
    ) == sorted(
        [
            (winback.pk, "甲", "lifecycle:silent:2026-03-02"),
            (rfm.pk, "甲", "rfm_segment:big_spenders_at_risk:2026-03-02"),
        ]
    )


@pytest.mark.django_db
def test_conditions_and_active_dates_limit_the_rule(org: Any) -> None:
    only_women = {
        "version": 1,
        "match": "all",
        "conditions": [{"field": "gender", "op": "in", "value": ["f"]}],
    }
    birthday = rule(
        org, Trigger.BIRTHDAY, params={}, conditions=only_women, active_until=date(2026, 5, 31)
    )
    make_customer(org, name="王丽", gender="f", birth_month=5, birth_day=20)
    make_customer(org, name="李强", gender="m", birth_month=5, birth_day=20)
    make_customer(org, name="六月", gender="f", birth_month=6, birth_day=1)
    assert keys_on(birthday, date(2026, 5, 20)) == [("王丽", "birthday:2026")]
    engine.run_daily(now=local(2026, 6, 1, 8, 0))
    assert Enrolment.objects.count() == 1


@pytest.mark.django_db
def test_days_a_rule_was_off_are_not_caught_up(org: Any) -> None:
    from huitouke.automation.actions import do_set_rule_active
    from huitouke.automation.models import AutomationRule

    birthday = rule(org, Trigger.BIRTHDAY, params={"days_before": 0})
    make_customer(org, name="王丽", birth_month=5, birth_day=21)
    engine.run_daily(now=local(2026, 5, 20, 8, 0))
    do_set_rule_active(birthday, False, actor=None)
    do_set_rule_active(birthday, True, actor=None)
    AutomationRule.objects.filter(pk=birthday.pk).update(activated_at=local(2026, 5, 22, 7, 0))
    engine.run_daily(now=local(2026, 5, 22, 8, 0))
    assert not Enrolment.objects.exists()
