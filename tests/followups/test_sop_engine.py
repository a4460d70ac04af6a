"""The SOP engine creates each built-in task once per occurrence; running it again creates nothing."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from huitouke.analytics.models import CustomerAnalytics
from huitouke.core.occasions import solar_to_lunar
from huitouke.customers.models import Customer
from huitouke.followups import defaults
from huitouke.followups.models import FollowUpTask, SopRule, TaskKind, Trigger
from huitouke.followups.sop import run_order_sops, run_sops
from huitouke.sales.models import Order
from huitouke.segments.models import Segment
from tests.helpers import make_customer, make_order

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TZ)


def backdate(*customers: Customer, days: int = 200) -> None:
    """Make customers old, so the "new customer" SOP leaves them alone."""
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def tasks() -> set[tuple[str, int, str]]:
    return set(FollowUpTask.objects.values_list("rule__code", "customer_id", "occurrence_key"))


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.fixture
def world(org, store1, owner, manager, staff_a, staff_b, now):
    """One customer per built-in SOP, plus near misses that must not get a task."""
    today = now.astimezone(TZ).date()
    c = {}
    c["big"] = make_customer(org, name="陈静", gender="f", owner=staff_a, home_store=store1)
    c["big_order"] = make_order(
        c["big"], store1, unit_price="1200", placed_at=now - timedelta(hours=1)
    )
    c["small"] = make_customer(org, name="李娜", gender="f", owner=staff_a, home_store=store1)
    make_order(c["small"], store1, unit_price="300", placed_at=now - timedelta(hours=1))
    c["rec"] = make_customer(org, name="赵敏", owner=staff_a, home_store=store1)
    make_order(c["rec"], store1, unit_price="100", placed_at=now - timedelta(days=10))
    c["inc"] = make_customer(org, name="孙丽", owner=staff_b, home_store=store1)
    make_order(c["inc"], store1, unit_price="100", placed_at=now - timedelta(days=35))
    c["old"] = make_customer(org, name="周洁", owner=staff_b, home_store=store1)
    make_order(c["old"], store1, unit_price="100", placed_at=now - timedelta(days=50))
    # A big order placed long ago is history, not a call to make now.
    make_order(c["old"], store1, unit_price="5000", placed_at=now - timedelta(days=20))
    in5, in10, in3 = (today + timedelta(days=n) for n in (5, 10, 3))
    c["vip"] = make_customer(
        org, name="吴倩", gender="f", owner=staff_a, birth_month=in5.month, birth_day=in5.day
    )
    make_order(c["vip"], store1, unit_price="1500", placed_at=now - timedelta(days=100))
    c["not_vip"] = make_customer(
        org, name="郑爽", owner=staff_a, birth_month=in5.month, birth_day=in5.day
    )
    make_order(c["not_vip"], store1, unit_price="200", placed_at=now - timedelta(days=100))
    c["vip_later"] = make_customer(
        org, name="冯娟", owner=staff_a, birth_month=in10.month, birth_day=in10.day
    )
    make_order(c["vip_later"], store1, unit_price="1500", placed_at=now - timedelta(days=100))
    lunar = solar_to_lunar(in3)
    c["vip_lunar"] = make_customer(
        org,
        name="何芳",
        owner=staff_b,
        birthday_kind="lunar",
        birth_month=lunar.month,
        birth_day=lunar.day,
        birth_leap_month=lunar.is_leap,
    )
    make_order(c["vip_lunar"], store1, unit_price="3000", placed_at=now - timedelta(days=100))
    c["at_risk"] = make_customer(org, name="高敏", home_store=store1)  # nobody owns her
    make_order(c["at_risk"], store1, unit_price="800", placed_at=now - timedelta(days=200))
    CustomerAnalytics.objects.create(
        customer=c["at_risk"],
        organisation=org,
        as_of=today,
        lifecycle="churned",
        rfm_segment="big_spenders_at_risk",
    )
    backdate(*(v for v in c.values() if isinstance(v, Customer)))
    c["fresh"] = make_customer(org, name="王芳", owner=staff_b, home_store=store1)
    c["imported"] = make_customer(org, name="导入", owner=staff_b, source="import")
    Customer.objects.filter(pk__in=[c["fresh"].pk, c["imported"].pk]).update(
        created_at=now - timedelta(minutes=30)
    )
    c["in3"], c["in5"] = in3, in5
    c["today"] = today
    # The local date of the two orders of an hour ago (yesterday's, just after midnight in the shop).
    c["first_day"] = (now - timedelta(hours=1)).astimezone(TZ).date()
    return c


def expected(c) -> set[tuple[str, int, str]]:
    today = c["today"].isoformat()
    return {
        (defaults.BIG_ORDER, c["big"].pk, f"order:{c['big_order'].pk}"),
        (defaults.NEW_CUSTOMER, c["fresh"].pk, "created"),
        (defaults.CARE, c["big"].pk, f"first:{c['first_day']}"),
        (defaults.CARE, c["small"].pk, f"first:{c['first_day']}"),
        (defaults.RECOMMENDATION, c["rec"].pk, f"first:{c['today'] - timedelta(days=10)}"),
        (defaults.INCENTIVE, c["inc"].pk, f"first:{c['today'] - timedelta(days=35)}"),
        (defaults.VIP_BIRTHDAY, c["vip"].pk, f"birthday:{c['in5']}"),
        (defaults.VIP_BIRTHDAY, c["vip_lunar"].pk, f"birthday:{c['in3']}"),
        (defaults.WIN_BACK, c["at_risk"].pk, f"entered:{today}"),
    }


def test_each_built_in_sop_creates_its_task_once(world, now):
    created = run_sops(world["big"].organisation, now=now)
    assert tasks() == expected(world)
    assert created == len(expected(world))
    assert SopRule.objects.filter(organisation=world["big"].organisation).count() == len(
        defaults.BUILT_IN
    )

    # The scheduler again, now and tomorrow: nothing new.
    assert run_sops(world["big"].organisation, now=now) == 0
    assert run_sops(world["big"].organisation, now=now + timedelta(days=1)) == 0
    assert tasks() == expected(world)
    assert FollowUpTask.objects.count() == len(expected(world))


def test_tasks_carry_due_time_assignee_kind_and_script(world, now, staff_a, staff_b, manager):
    run_sops(world["big"].organisation, now=now)
    by = {(t.rule.code, t.customer_id): t for t in FollowUpTask.objects.select_related("rule")}
    big = by[(defaults.BIG_ORDER, world["big"].pk)]
    assert big.assignee == staff_a and big.kind == TaskKind.CALL
    assert big.due_at == world["big_order"].placed_at + timedelta(hours=24)
    assert big.script.startswith("陈女士您好，我是万达店的小美。")
    fresh = by[(defaults.NEW_CUSTOMER, world["fresh"].pk)]
    fresh.customer.refresh_from_db()
    assert fresh.due_at == fresh.customer.created_at + timedelta(hours=2)
    assert fresh.assignee == staff_b
    care = by[(defaults.CARE, world["small"].pk)]
    assert care.due_at == midnight(world["first_day"] + timedelta(days=5))
    card = by[(defaults.VIP_BIRTHDAY, world["vip"].pk)]
    assert card.kind == TaskKind.CARD and card.due_at == midnight(world["in5"])
    assert card.script.startswith("亲爱的吴女士")
    # Nobody owns her: the manager of her store gets the call.
    assert by[(defaults.WIN_BACK, world["at_risk"].pk)].assignee == manager


def test_leaving_and_entering_a_segment_again_is_a_new_occurrence(world, now):
    org = world["big"].organisation
    run_sops(org, now=now)
    CustomerAnalytics.objects.filter(customer=world["at_risk"]).update(rfm_segment="lost")
    run_sops(org, now=now + timedelta(days=1))
    CustomerAnalytics.objects.filter(customer=world["at_risk"]).update(
        rfm_segment="big_spenders_at_risk"
    )
    run_sops(org, now=now + timedelta(days=2))
    keys = set(
        FollowUpTask.objects.filter(rule__code=defaults.WIN_BACK).values_list(
            "occurrence_key", flat=True
        )
    )
    day0, day2 = world["today"], world["today"] + timedelta(days=2)
    assert keys == {f"entered:{day0}", f"entered:{day2}"}


def test_rules_switched_off_or_raised_create_nothing(world, now):
    org = world["big"].organisation
    defaults.ensure_default_rules(org)
    SopRule.objects.filter(organisation=org, code=defaults.BIG_ORDER).update(
        threshold=Decimal("1500")
    )
    SopRule.objects.filter(organisation=org).exclude(code=defaults.BIG_ORDER).update(
        is_active=False
    )
    assert run_sops(org, now=now) == 0
    assert not FollowUpTask.objects.exists()


def test_a_rule_acts_only_on_its_own_organisation(world, now, other_org, other_store):
    stranger = make_customer(other_org, name="外人")
    make_order(stranger, other_store, unit_price="5000", placed_at=now - timedelta(hours=1))
    run_sops(world["big"].organisation, now=now)
    assert not FollowUpTask.objects.filter(customer=stranger).exists()
    run_sops(other_org, now=now)
    assert FollowUpTask.objects.filter(customer=stranger, organisation=other_org).exists()
    assert set(
        FollowUpTask.objects.filter(customer=stranger).values_list("rule__organisation", flat=True)
    ) == {other_org.pk}


def test_owner_defined_segment_and_event_rules(org, store1, owner, staff_a, now):
    today = now.astimezone(TZ).date()
    loyal = make_customer(org, name="钱多", owner=staff_a)
    for days in (40, 30, 20):
        make_order(loyal, store1, unit_price="100", placed_at=now - timedelta(days=days))
    once = make_customer(org, name="钱少", owner=staff_a)
    make_order(once, store1, unit_price="100", placed_at=now - timedelta(days=20))
    backdate(loyal, once)
    segment = Segment.objects.create(
        organisation=org,
        name="三单以上",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "orders_count", "op": "gte", "value": 3}],
        },
    )
    SopRule.objects.create(
        organisation=org,
        name="老客感谢",
        trigger=Trigger.SEGMENT_ENTERED,
        segment=segment,
        kind=TaskKind.GIFT,
        script_template="{{ salutation }}，谢谢您{{ orders_count }}次光临",
    )
    SopRule.objects.create(
        organisation=org,
        name="20天回访",
        trigger=Trigger.DAYS_AFTER_EVENT,
        event="last_order",
        days=20,
        delay_hours=4,
        kind=TaskKind.WECHAT,
    )
    SopRule.objects.filter(organisation=org).exclude(code="").update(is_active=False)
    defaults.ensure_default_rules(org)
    SopRule.objects.filter(organisation=org).exclude(code="").update(is_active=False)
    run_sops(org, now=now)
    run_sops(org, now=now)
    got = set(FollowUpTask.objects.values_list("rule__name", "customer_id", "occurrence_key"))
    last = (today - timedelta(days=20)).isoformat()
    assert got == {
        ("老客感谢", loyal.pk, f"entered:{today}"),
        ("20天回访", loyal.pk, f"last_order:{last}+20"),
        ("20天回访", once.pk, f"last_order:{last}+20"),
    }
    gift = FollowUpTask.objects.get(rule__name="老客感谢")
    assert gift.script == "钱多，谢谢您3次光临"


def test_order_sop_runs_when_the_sale_commits(
    org, store1, staff_a, huey_immediate, django_capture_on_commit_callbacks
):
    customer = make_customer(org, name="陈静", gender="f", owner=staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order(customer, store1, unit_price="1000")
    task = FollowUpTask.objects.get(rule__code=defaults.BIG_ORDER)
    assert (task.customer_id, task.occurrence_key) == (customer.pk, f"order:{order.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        make_order(customer, store1, unit_price="999.99")
    assert FollowUpTask.objects.filter(rule__code=defaults.BIG_ORDER).count() == 1
    # The periodic sweep and a repeated job add nothing.
    run_sops(org)
    run_order_sops(Order.objects.get(pk=order.pk))
    assert FollowUpTask.objects.filter(rule__code=defaults.BIG_ORDER).count() == 1


def test_a_feb_29_birthday_is_celebrated_on_feb_28_in_common_years(org, store1, staff_a):
    vip = make_customer(org, name="林闰", owner=staff_a, birth_month=2, birth_day=29)
    make_order(vip, store1, unit_price="2000")
    defaults.ensure_default_rules(org)
    SopRule.objects.filter(organisation=org).exclude(code=defaults.VIP_BIRTHDAY).update(
        is_active=False
    )
    run_sops(org, now=datetime(2027, 2, 25, 10, tzinfo=TZ))
    run_sops(org, now=datetime(2028, 2, 25, 10, tzinfo=TZ))  # 2028 is a leap year
    assert tasks() == {
        (defaults.VIP_BIRTHDAY, vip.pk, "birthday:2027-02-28"),
        (defaults.VIP_BIRTHDAY, vip.pk, "birthday:2028-02-29"),
    }
