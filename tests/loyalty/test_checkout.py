"""Pricing an order with the tier discount, a coupon and points; bad input is refused and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from tests.helpers import make_customer, make_order, make_product

from huitouke.loyalty import coupons
from huitouke.loyalty.actions import do_adjust_points, ensure_program
from huitouke.loyalty.checkout import do_checkout, quote_checkout
from huitouke.loyalty.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
)
from huitouke.sales.actions import LineInput
from huitouke.sales.models import Category, Order

D = Decimal


@pytest.fixture
def gold_member(org, store1, owner):
    """A Gold member (1000 spent) holding 1000 points and a 满150减30 coupon for masks."""
    ensure_program(org)
    c = make_customer(org, name="林晓雨")
    make_order(c, store1, unit_price="1000.00")  # earned at the Regular rate: 1000 points
    return c


@pytest.fixture
def mask_coupon(org, owner, gold_member):
    masks = Category.objects.get_or_create(organisation=org, name="面膜")[0]
    template = CouponTemplate.objects.create(
        organisation=org,
        name="面膜满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=D("30"),
        threshold=D("150"),
        valid_days=30,
    )
    template.categories.set([masks])
    return coupons.do_issue_coupon(template, gold_member, actor=owner)


@pytest.fixture
def basket(org):
    masks = Category.objects.get_or_create(organisation=org, name="面膜")[0]
    serums = Category.objects.get_or_create(organisation=org, name="精华")[0]
    mask = make_product(org, name="玫瑰面膜", price="100.00", category=masks)
    serum = make_product(org, name="精华小样", price="50.00", category=serums)
    return [LineInput(quantity=2, product=mask), LineInput(quantity=1, product=serum)]


def test_hand_worked_checkout(org, store1, owner, gold_member, mask_coupon, basket):
    # gross 250; Gold 8.8折 → −30.00 → 220; masks are 200/250 of it → 176.00 ≥ 150 → −30 → 190;
    # 1000 points = ¥10 (at most 50% of 190) → net 180.00, which earns 180 × 1.5 = 270 points.
    quote = quote_checkout(
        organisation=org,
        customer=gold_member,
        lines=basket,
        coupon_code=mask_coupon.code,
        points=1000,
    )
    assert quote.errors == {}
    assert (
        quote.gross,
        quote.tier_discount,
        quote.coupon_amount,
        quote.points_amount,
        quote.net,
    ) == (
        D("250.00"),
        D("30.00"),
        D("30.00"),
        D("10.00"),
        D("180.00"),
    )
    order = do_checkout(
        organisation=org,
        store=store1,
        customer=gold_member,
        lines=basket,
        actor=owner,
        coupon_code=mask_coupon.code,
        points=1000,
    )
    assert (
        order.gross_amount,
        order.discount_amount,
        order.coupon_amount,
        order.points_used,
        order.points_amount,
        order.net_paid,
    ) == (
        D("250.00"),
        D("30.00"),
        D("30.00"),
        1000,
        D("10.00"),
        D("180.00"),
    )
    mask_coupon.refresh_from_db()
    assert (mask_coupon.status, mask_coupon.order_id) == (CouponStatus.REDEEMED, order.pk)
    assert LoyaltyAccount.objects.get(pk=gold_member.pk).balance == 1000 - 1000 + 270


def test_percent_coupon_with_a_cap_and_a_manual_discount(org, store1, owner):
    c = make_customer(org)
    template = CouponTemplate.objects.create(
        organisation=org,
        name="9折",
        kind=CouponKind.PERCENT_OFF,
        percent_off=D("10"),
        max_discount=D("25"),
        valid_days=5,
    )
    code = coupons.do_issue_coupon(template, c, actor=owner).code
    lines = [LineInput(quantity=1, name="套餐", unit_price=D("200.00"))]
    quote = quote_checkout(
        organisation=org, customer=c, lines=lines, discount="20", coupon_code=code
    )
    assert (quote.coupon_amount, quote.net) == (D("18.00"), D("162.00"))  # 10% of 180
    lines = [LineInput(quantity=1, name="套餐", unit_price=D("400.00"))]
    quote = quote_checkout(organisation=org, customer=c, lines=lines, coupon_code=code)
    assert (quote.coupon_amount, quote.net) == (D("25.00"), D("375.00"))  # 40 capped at 25


def nothing_changed(
    customer, before_orders: int, balance: int, coupon: Coupon | None = None
) -> None:
    assert Order.objects.count() == before_orders
    assert LoyaltyAccount.objects.get(pk=customer.pk).balance == balance
    if coupon is not None:
        coupon.refresh_from_db()
        assert (coupon.status, coupon.order_id) == (CouponStatus.ISSUED, None)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"points": 1001}, "points", "She has 1000 points; 1001 requested."),
        ({"points": -1}, "points", "0 or more"),
        # one serum: 50 → Gold 44 → −30 by hand → 14, of which points may pay 7.00 (700 points).
        (
            {"points": 1000, "discount": "30", "lines": "one serum", "coupon_code": ""},
            "points",
            "at most 50% of this order: ¥7.00, 700 points",
        ),
        (
            {"lines": "one serum"},
            "coupon",
            "None of the items is in this coupon's categories (面膜)",
        ),
        (
            {"lines": "one mask"},
            "coupon",
            "needs a spend of ¥150.00 on eligible items; this order has ¥88.00",
        ),
        ({"discount": "-5"}, "discount", "cannot be negative"),
        ({"discount": "abc"}, "discount", "is not an amount"),
        ({"discount": "300"}, "discount", "exceed the order amount"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    org, store1, owner, gold_member, mask_coupon, basket, change, field, message
):
    args = {"coupon_code": mask_coupon.code, "points": 0, "discount": 0, "lines": basket}
    args.update(change)
    if args["lines"] == "one serum":
        args["lines"] = basket[1:]
    elif args["lines"] == "one mask":
        args["lines"] = [LineInput(quantity=1, product=basket[0].product)]
    before = Order.objects.count()
    with pytest.raises(ValidationError) as info:
        do_checkout(organisation=org, store=store1, customer=gold_member, actor=owner, **args)
    assert message in " ".join(info.value.message_dict[field])
    nothing_changed(gold_member, before, 1000, mask_coupon)


def test_coupon_of_someone_else_or_expired_or_for_a_walk_in(
    org, store1, owner, gold_member, mask_coupon, basket
):
    other = make_customer(org)
    before = Order.objects.count()
    for customer, message in [(other, "belongs to another customer"), (None, "need a customer")]:
        with pytest.raises(ValidationError, match=message):
            do_checkout(
                organisation=org,
                store=store1,
                customer=customer,
                lines=basket,
                actor=owner,
                coupon_code=mask_coupon.code,
            )
    Coupon.objects.filter(pk=mask_coupon.pk).update(expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError, match="expired on"):
        do_checkout(
            organisation=org,
            store=store1,
            customer=gold_member,
            lines=basket,
            actor=owner,
            coupon_code=mask_coupon.code,
        )
    assert Order.objects.count() == before
    assert PointsEntry.objects.filter(customer=other).count() == 0


def test_points_on_a_walk_in_sale_are_refused(org, store1, owner):
    with pytest.raises(ValidationError, match="need a customer"):
        do_checkout(
            organisation=org,
            store=store1,
            customer=None,
            actor=owner,
            points=10,
            lines=[LineInput(quantity=1, name="x", unit_price=D("10"))],
        )
    assert Order.objects.count() == 0


def test_a_coupon_used_by_another_order_is_refused(
    org, store1, owner, gold_member, mask_coupon, basket
):
    do_checkout(
        organisation=org,
        store=store1,
        customer=gold_member,
        lines=basket,
        actor=owner,
        coupon_code=mask_coupon.code,
    )
    with pytest.raises(ValidationError, match="already been used"):
        do_checkout(
            organisation=org,
            store=store1,
            customer=gold_member,
            lines=basket,
            actor=owner,
            coupon_code=mask_coupon.code,
        )


def test_points_just_earned_cannot_pay_for_the_same_order(org, store1, owner):
    c = make_customer(org)
    do_adjust_points(c, points=100, reason="gift", actor=owner)
    with pytest.raises(ValidationError, match="She has 100 points; 200 requested"):
        do_checkout(
            organisation=org,
            store=store1,
            customer=c,
            actor=owner,
            points=200,
            lines=[LineInput(quantity=1, name="x", unit_price=D("1000"))],
        )
    assert LoyaltyAccount.objects.get(pk=c.pk).balance == 100
