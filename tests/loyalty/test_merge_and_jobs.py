"""Merging customers moves points, debt and coupons; the periodic jobs run through Huey."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.customers.duplicates import do_merge_customers
from huitouke.loyalty import coupons, tasks
from huitouke.loyalty.actions import do_adjust_points, do_redeem_points
from huitouke.loyalty.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
)
from huitouke.sales.actions import do_refund_order


def account(customer) -> tuple[int, int, str | None]:
    a = LoyaltyAccount.objects.select_related("tier").get(pk=customer.pk)
    return a.balance, a.debt, a.tier.name if a.tier else None


def test_merge_moves_points_coupons_and_recomputes_the_tier(org, store1, owner):
    keep, dup = make_customer(org, name="陈静"), make_customer(org, name="陈静 (重复)")
    make_order(keep, store1, unit_price="100.00")
    make_order(dup, store1, unit_price="950.00")
    template = CouponTemplate.objects.create(
        organisation=org, name="t", kind=CouponKind.NO_THRESHOLD, amount=Decimal("10"), valid_days=9
    )
    coupon = coupons.do_issue_coupon(template, dup, actor=owner)
    do_merge_customers(keep=keep, duplicate=dup, actor=owner)
    assert account(keep) == (1050, 0, "Gold")
    assert account(dup)[:2] == (0, 0)
    assert Coupon.objects.get(pk=coupon.pk).customer_id == keep.pk
    assert PointsEntry.objects.filter(customer=dup).count() == 0


def test_merge_settles_points_owed_against_points_held(org, store1, owner):
    keep, dup = make_customer(org), make_customer(org)
    order = make_order(keep, store1, unit_price="100.00")
    do_redeem_points(keep, points=100, actor=owner)
    do_refund_order(order=order, actor=owner, amount="50.00")  # 50 owed
    do_adjust_points(dup, points=80, reason="gift", actor=owner)
    do_merge_customers(keep=keep, duplicate=dup, actor=owner)
    assert account(keep)[:2] == (30, 0)


def test_periodic_jobs(org, store1, owner):
    c = make_customer(org)
    make_order(c, store1, unit_price="1000.00", placed_at=timezone.now() - timedelta(days=366 * 3))
    template = CouponTemplate.objects.create(
        organisation=org, name="t", kind=CouponKind.NO_THRESHOLD, amount=Decimal("10"), valid_days=1
    )
    coupon = coupons.do_issue_coupon(
        template, c, actor=owner, now=timezone.now() - timedelta(days=2)
    )
    assert (
        tasks.expire_points.call_local() == 1000
    )  # earned three years ago: lapsed at the end of the next year
    assert tasks.expire_coupons.call_local() == 1
    assert (
        tasks.reevaluate_tiers.call_local() == 0
    )  # already Regular: the order is outside the window
    assert tasks.reevaluate_organisation_tiers.call_local(org.pk) == 0
    assert Coupon.objects.get(pk=coupon.pk).status == CouponStatus.EXPIRED
    assert account(c) == (0, 0, "Regular")


def test_imported_history_sets_tiers_but_earns_no_points(org, store1):
    from huitouke.loyalty.hooks import on_orders_imported
    from huitouke.sales.models import Order, OrderSource

    c = make_customer(org)
    # Imports write orders in bulk, without the order hooks.
    Order.objects.create(
        organisation=org,
        store=store1,
        customer=c,
        net_paid=Decimal("1200"),
        source=OrderSource.IMPORT,
    )
    on_orders_imported(Order, organisation=org, customer_ids=[c.pk])
    assert account(c) == (0, 0, "Gold")


def test_imported_history_moves_many_tiers_at_once_keeping_points(org, store1, owner, request):
    from huitouke.loyalty.events import tier_changed
    from huitouke.loyalty.hooks import on_orders_imported
    from huitouke.loyalty.models import TierChange
    from huitouke.sales.models import Order, OrderSource

    fired: list[object] = []

    def heard(sender, change, **kwargs):
        fired.append(change)

    tier_changed.connect(heard)
    request.addfinalizer(lambda: tier_changed.disconnect(heard))
    member, newcomer, small = make_customer(org), make_customer(org), make_customer(org)
    do_adjust_points(member, points=80, reason="gift", actor=owner)  # an account, no tier yet
    for customer, spend in ((member, "1200"), (newcomer, "350"), (small, "100")):
        Order.objects.create(
            organisation=org,
            store=store1,
            customer=customer,
            net_paid=Decimal(spend),
            source=OrderSource.IMPORT,
        )
    on_orders_imported(Order, organisation=org, customer_ids=[member.pk, newcomer.pk, small.pk])
    assert (account(member), account(newcomer), account(small)) == (
        (80, 0, "Gold"),
        (0, 0, "Silver"),
        (0, 0, "Regular"),
    )
    changes = {
        c.customer_id: (c.from_name, c.to_name, c.spend_12m, c.reason)
        for c in TierChange.objects.all()
    }
    assert changes == {
        member.pk: ("", "Gold", Decimal("1200.00"), "import"),
        newcomer.pk: ("", "Silver", Decimal("350.00"), "import"),
        small.pk: ("", "Regular", Decimal("100.00"), "import"),
    }
    assert fired == []  # no "promotion" messages for history

    # More history for one of them: one more change, and the others stay as they are.
    Order.objects.create(
        organisation=org,
        store=store1,
        customer=small,
        net_paid=Decimal("950"),
        source=OrderSource.IMPORT,
    )
    on_orders_imported(Order, organisation=org, customer_ids=[member.pk, newcomer.pk, small.pk])
    assert account(small) == (0, 0, "Gold")
    latest = TierChange.objects.filter(customer=small).order_by("-id").first()
    assert latest is not None
    assert (latest.from_name, latest.to_name, latest.spend_12m) == (
        "Regular",
        "Gold",
        Decimal("1050.00"),
    )
    assert TierChange.objects.count() == 4
