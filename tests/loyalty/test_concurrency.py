"""Real parallel connections: coupons used once, quotas and limits never exceeded, points never overspent.

On PostgreSQL the threads really interleave (conditional UPDATEs and row locks decide); on SQLite
IMMEDIATE transactions queue them, and the same invariants must hold.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from tests.helpers import make_customer, run_in_threads

from huitouke.customers.models import Customer
from huitouke.loyalty import coupons
from huitouke.loyalty.actions import do_adjust_points, do_redeem_points, expire_points_of
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
)
from huitouke.sales.actions import LineInput
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


# Each thread asserts English messages (the active language is per thread).
run_parallel = partial(run_in_threads, language="en")


def template(org, **fields) -> CouponTemplate:
    values = {
        "name": "无门槛减20",
        "kind": CouponKind.NO_THRESHOLD,
        "amount": Decimal("20"),
        "valid_days": 30,
    }
    values.update(fields)
    return CouponTemplate.objects.create(organisation=org, **values)


def messages(errors: list[BaseException]) -> set[str]:
    assert all(isinstance(e, ValidationError) for e in errors), errors
    return {" ".join(e.messages) for e in errors if isinstance(e, ValidationError)}


def test_fifty_simultaneous_redemptions_of_one_coupon(org, owner):
    c = make_customer(org)
    coupon = coupons.do_issue_coupon(template(org), c, actor=owner)

    def redeem(i: int) -> Coupon:
        return coupons.do_redeem_coupon(
            organisation_id=org.pk,
            code=coupon.code,
            customer=Customer.objects.get(pk=c.pk),
            actor=None,
        )

    results, errors = run_parallel(50, redeem)
    assert len(results) == 1 and len(errors) == 49
    assert messages(errors) == {"This coupon has already been used."}
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED


def test_parallel_checkouts_with_one_coupon_and_the_same_points_make_one_order(org, store1, owner):
    c = make_customer(org)
    do_adjust_points(c, points=500, reason="welcome", actor=owner)
    coupon = coupons.do_issue_coupon(template(org), c, actor=owner)

    def order(i: int) -> Order:
        return do_checkout(
            organisation=org,
            store=store1,
            customer=Customer.objects.get(pk=c.pk),
            actor=None,
            coupon_code=coupon.code,
            points=500,
            lines=[LineInput(quantity=1, name=f"item {i}", unit_price=Decimal("100.00"))],
        )

    results, errors = run_parallel(12, order)
    assert len(results) == 1 and len(errors) == 11
    assert Order.objects.count() == 1
    won = results[0]
    # 100 − 20 coupon − ¥5 of points = 75 paid, earning 75 points.
    assert (won.coupon_amount, won.points_used, won.net_paid) == (
        Decimal("20.00"),
        500,
        Decimal("75.00"),
    )
    assert LoyaltyAccount.objects.get(pk=c.pk).balance == 75
    assert Coupon.objects.get(pk=coupon.pk).order_id == won.pk


def test_a_quota_of_ten_hit_by_fifty_parallel_issues(org, owner):
    limited = template(org, quota=10)
    people = [make_customer(org, name=f"客户{i}") for i in range(50)]

    def issue(i: int) -> Coupon:
        return coupons.do_issue_coupon(
            CouponTemplate.objects.get(pk=limited.pk), people[i], actor=None
        )

    results, errors = run_parallel(50, issue)
    assert len(results) == 10 and len(errors) == 40
    assert messages(errors) == {"All 10 coupons of this kind have been issued."}
    limited.refresh_from_db()
    assert limited.issued_count == 10 == Coupon.objects.filter(template=limited).count()


def test_the_per_customer_limit_holds_under_parallel_issues(org, owner):
    once = template(org, per_customer_limit=1)
    c = make_customer(org)
    results, errors = run_parallel(
        12, lambda i: coupons.do_issue_coupon(once, Customer.objects.get(pk=c.pk), actor=None)
    )
    assert len(results) == 1 and len(errors) == 11
    assert Coupon.objects.filter(customer=c).count() == 1
    once.refresh_from_db()
    assert once.issued_count == 1


def test_two_hundred_parallel_awards_and_redemptions_never_overspend(org, owner):
    c = make_customer(org)
    do_adjust_points(c, points=300, reason="start", actor=owner)
    rng = random.Random(20240601)
    plan = [(rng.choice(["award", "redeem", "redeem"]), rng.randint(1, 60)) for _ in range(200)]
    threads, per_thread = 20, 10

    def work(i: int) -> list[tuple[str, int, bool]]:
        customer = Customer.objects.get(pk=c.pk)
        done = []
        for kind, points in plan[i * per_thread : (i + 1) * per_thread]:
            try:
                if kind == "award":
                    do_adjust_points(customer, points=points, reason="parallel", actor=None)
                else:
                    do_redeem_points(customer, points=points, actor=None)
                done.append((kind, points, True))
            except ValidationError:
                done.append((kind, points, False))
        return done

    results, errors = run_parallel(threads, work)
    assert errors == []
    outcomes = [o for r in results for o in r]
    assert len(outcomes) == 200
    assert all(ok for kind, _p, ok in outcomes if kind == "award")
    expected = 300 + sum(p if kind == "award" else -p for kind, p, ok in outcomes if ok)
    account = LoyaltyAccount.objects.get(pk=c.pk)
    assert account.balance == expected >= 0
    assert PointsEntry.objects.filter(customer=c).count() == 1 + sum(ok for _k, _p, ok in outcomes)
    assert min(PointsEntry.objects.filter(customer=c).values_list("balance_after", flat=True)) >= 0


def test_two_workers_expiring_at_once_expire_once(org, store1, owner):
    from datetime import timedelta

    from django.utils import timezone

    c = make_customer(org)
    do_adjust_points(c, points=100, reason="old", actor=owner)
    later = timezone.now() + timedelta(days=3000)  # past any expiry policy
    results, errors = run_parallel(6, lambda i: expire_points_of(c.pk, org.pk, now=later))
    assert errors == []
    assert sum(1 for r in results if r is not None) == 1
    assert LoyaltyAccount.objects.get(pk=c.pk).balance == 0
