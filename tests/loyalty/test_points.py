"""Earning, redeeming, adjusting, expiring and refunding points (hand-worked examples)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.audit.models import AuditEntry
from huitouke.loyalty.actions import (
    do_adjust_points,
    do_expire_points,
    do_redeem_points,
    ensure_program,
    expiry_for,
    points_to_expire,
)
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.models import (
    AppendOnlyError,
    ExpiryPolicy,
    LoyaltyAccount,
    PointsEntry,
    PointsKind,
)
from huitouke.sales.actions import LineInput, do_refund_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


def balance(customer) -> tuple[int, int]:
    account = LoyaltyAccount.objects.get(pk=customer.pk)
    return account.balance, account.debt


def test_orders_earn_a_point_per_yuan_times_the_tier_held_when_ordering(org, store1):
    c = make_customer(org)
    make_order(c, store1, unit_price="350.00")  # Regular ×1 → 350; her spend now makes her Silver
    make_order(c, store1, unit_price="100.99")  # Silver ×1.2 → floor(121.188) = 121
    assert balance(c) == (471, 0)
    earned = list(
        PointsEntry.objects.filter(customer=c).order_by("id").values_list("kind", "points")
    )
    assert earned == [("earn", 350), ("earn", 121)]


def test_walk_in_orders_earn_nothing(org, store1):
    make_order(None, store1, unit_price="500.00")
    assert PointsEntry.objects.count() == 0


@pytest.mark.parametrize(("birth_month", "expected"), [(3, 200), (4, 100)])
def test_birthday_month_doubles_the_points(org, store1, birth_month, expected):
    c = make_customer(org, birth_month=birth_month, birth_day=20)
    make_order(c, store1, unit_price="100.00", placed_at=datetime(2025, 3, 5, 12, tzinfo=SHANGHAI))
    assert balance(c)[0] == expected


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        # 腊月二十 of lunar year 2024 is 2025-01-19: January 2025 is her birthday month.
        (datetime(2025, 1, 10, 12, tzinfo=SHANGHAI), 200),
        # 腊月二十 of lunar year 2025 falls in February 2026, so December 2025 is not.
        (datetime(2025, 12, 10, 12, tzinfo=SHANGHAI), 100),
    ],
)
def test_a_lunar_birthday_counts_in_its_solar_month(org, store1, placed, expected):
    c = make_customer(org, birthday_kind="lunar", birth_month=12, birth_day=20)
    make_order(c, store1, unit_price="100.00", placed_at=placed)
    assert balance(c)[0] == expected


def test_expiry_dates_by_policy(org):
    rules = ensure_program(org)
    rules.expiry_policy = ExpiryPolicy.MONTHS
    rules.expiry_months = 1
    earned = datetime(2024, 1, 31, 10, 0, tzinfo=SHANGHAI)
    assert expiry_for(earned, rules, "Asia/Shanghai") == datetime(
        2024, 2, 29, 10, 0, tzinfo=SHANGHAI
    )
    rules.expiry_months = 12
    assert expiry_for(earned, rules, "Asia/Shanghai") == datetime(
        2025, 1, 31, 10, 0, tzinfo=SHANGHAI
    )
    rules.expiry_policy = ExpiryPolicy.END_OF_NEXT_YEAR
    assert expiry_for(earned, rules, "Asia/Shanghai") == datetime(2026, 1, 1, tzinfo=SHANGHAI)
    # The shop's local date decides: 16:30 UTC on 31 Dec 2024 is already 2025 in Shanghai.
    late = datetime(2024, 12, 31, 16, 30, tzinfo=ZoneInfo("UTC"))
    assert expiry_for(late, rules, "Asia/Shanghai") == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    rules.expiry_policy = ExpiryPolicy.NEVER
    assert expiry_for(earned, rules, "Asia/Shanghai") is None


def test_lapsed_points_expire_after_the_points_used(org, store1, owner):
    rules = ensure_program(org)
    rules.expiry_policy, rules.expiry_months = ExpiryPolicy.MONTHS, 12
    rules.save()
    now = timezone.now()
    c = make_customer(org)
    make_order(
        c, store1, unit_price="100.00", placed_at=now - timedelta(days=400)
    )  # lot of 100, lapsed
    make_order(
        c, store1, unit_price="50.00", placed_at=now - timedelta(days=100)
    )  # lot of 50, live
    do_redeem_points(c, points=30, actor=owner)  # uses the soonest-expiring points first
    assert points_to_expire(c.pk, now) == 70
    assert do_expire_points(now=now) == 70
    assert balance(c) == (50, 0)
    # Running it again (or on a second worker) finds nothing more.
    assert do_expire_points(now=now) == 0
    assert PointsEntry.objects.filter(kind=PointsKind.EXPIRE).count() == 1
    # A year later the second lot lapses too.
    assert do_expire_points(now=now + timedelta(days=300)) == 50
    assert balance(c) == (0, 0)


def test_points_that_never_expire_stay(org, store1):
    rules = ensure_program(org)
    rules.expiry_policy = ExpiryPolicy.NEVER
    rules.save()
    c = make_customer(org)
    make_order(c, store1, unit_price="100.00", placed_at=timezone.now() - timedelta(days=2000))
    assert do_expire_points(now=timezone.now() + timedelta(days=5000)) == 0
    assert balance(c) == (100, 0)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (500, "balance is 100, 500 requested"),
        (0, "above 0"),
        (-5, "above 0"),
        (True, "whole number"),
        (1.5, "whole number"),
    ],
)
def test_bad_redemptions_are_refused_and_change_nothing(org, store1, owner, points, message):
    c = make_customer(org)
    make_order(c, store1, unit_price="100.00")
    with pytest.raises(ValidationError, match=message):
        do_redeem_points(c, points=points, actor=owner)
    assert balance(c) == (100, 0)
    assert PointsEntry.objects.filter(customer=c).count() == 1


def test_adjustments_need_a_reason_and_are_audited(org, store1, owner):
    c = make_customer(org)
    with pytest.raises(ValidationError, match="reason"):
        do_adjust_points(c, points=50, reason="  ", actor=owner)
    do_adjust_points(c, points=50, reason="Compensation for a late delivery", actor=owner)
    with pytest.raises(ValidationError, match="balance is 50, 80 requested"):
        do_adjust_points(c, points=-80, reason="typo", actor=owner)
    do_adjust_points(c, points=-20, reason="Wrong customer", actor=owner)
    assert balance(c) == (30, 0)
    entries = list(
        PointsEntry.objects.filter(customer=c)
        .order_by("id")
        .values_list("kind", "points", "reason")
    )
    assert entries == [
        ("adjust", 50, "Compensation for a late delivery"),
        ("adjust", -20, "Wrong customer"),
    ]
    assert AuditEntry.objects.filter(action="points_adjust").count() == 2


def test_ledger_rows_cannot_be_changed_or_deleted(org, owner):
    c = make_customer(org)
    entry = do_adjust_points(c, points=10, reason="gift", actor=owner)
    entry.points = 1000
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_refund_takes_back_points_already_spent_as_a_recorded_debt(org, store1, owner):
    c = make_customer(org)
    order = make_order(c, store1, unit_price="200.00")  # +200
    do_redeem_points(c, points=150, actor=owner)  # 50 left
    do_refund_order(order=order, actor=owner, amount="100.00")  # half: 100 due, 50 held
    assert balance(c) == (0, 50)
    reversal = PointsEntry.objects.get(kind=PointsKind.REFUND_REVERSAL)
    assert (reversal.points, reversal.debt) == (-50, 50)
    # The next order's points pay the debt first: 80 earned, 50 owed.
    make_order(c, store1, unit_price="80.00")
    assert balance(c) == (30, 0)


def test_refunds_return_used_points_and_take_back_earned_points_in_proportion(org, store1, owner):
    c = make_customer(org)
    do_adjust_points(c, points=1000, reason="welcome", actor=owner)
    order = do_checkout(
        organisation=org,
        store=store1,
        customer=c,
        actor=owner,
        points=1000,
        lines=[LineInput(quantity=1, name="护理", unit_price=Decimal("100.00"))],
    )
    assert (order.points_used, order.points_amount, order.net_paid) == (
        1000,
        Decimal("10.00"),
        Decimal("90.00"),
    )
    assert balance(c) == (90, 0)  # 1000 - 1000 + 90 earned
    do_refund_order(order=order, actor=owner, amount="45.00")  # half of what was paid
    assert balance(c) == (90 + 500 - 45, 0)
    do_refund_order(order=order, actor=owner)  # the rest
    assert balance(c) == (1000, 0)
    kinds = list(
        PointsEntry.objects.filter(order=order).order_by("id").values_list("kind", "points")
    )
    assert kinds == [
        ("earn", 90),
        ("redeem", -1000),
        ("return", 500),
        ("reversal", -45),
        ("return", 500),
        ("reversal", -45),
    ]


def test_partial_refunds_add_up_to_exactly_the_points_earned(org, store1, owner):
    c = make_customer(org)
    order = make_order(c, store1, unit_price="100.00")  # 100 points
    for _ in range(3):
        do_refund_order(order=order, actor=owner, amount="33.33")
    # 99.99 of 100 refunded: round(100 × 0.9999) = 100 taken back, never more than was earned.
    assert balance(c) == (0, 0)
    do_refund_order(order=order, actor=owner)
    assert balance(c) == (0, 0)
    assert (
        -sum(
            PointsEntry.objects.filter(kind=PointsKind.REFUND_REVERSAL).values_list(
                "points", flat=True
            )
        )
        == 100
    )


def test_a_refund_takes_back_its_own_orders_points_not_the_soonest_to_lapse(org, store1, owner):
    rules = ensure_program(org)
    rules.expiry_policy, rules.expiry_months = ExpiryPolicy.MONTHS, 2
    rules.save()
    now = timezone.now()
    c = make_customer(org)
    make_order(
        c, store1, unit_price="100.00", placed_at=now - timedelta(days=90)
    )  # lapses about now − 30 days
    later = make_order(
        c, store1, unit_price="100.00", placed_at=now - timedelta(days=80)
    )  # about now − 20 days
    do_refund_order(order=later, actor=owner)  # its 100 points go, the first order's 100 stay
    assert do_expire_points(now=now - timedelta(days=25)) == 100
    assert balance(c) == (0, 0)
