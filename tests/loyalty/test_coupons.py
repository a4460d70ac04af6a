"""Coupon templates, issuing (codes, limits, quota, tier), validity, redemption, voiding, expiry, refunds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.loyalty import coupons
from huitouke.loyalty.actions import ensure_program
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.models import Coupon, CouponKind, CouponStatus, CouponTemplate, Tier, Validity
from huitouke.loyalty.queries import describe_template, template_results
from huitouke.sales.actions import LineInput, do_refund_order
from huitouke.sales.models import Category

D = Decimal


def make_template(org, **fields) -> CouponTemplate:
    values = {
        "name": "满150减30",
        "kind": CouponKind.AMOUNT_OFF,
        "amount": D("30"),
        "threshold": D("150"),
        "valid_days": 30,
    }
    values.update(fields)
    return CouponTemplate.objects.create(organisation=org, **values)


def checkout(org, store, customer, amount: str, code: str = "", **extra):
    return do_checkout(
        organisation=org,
        store=store,
        customer=customer,
        actor=None,
        coupon_code=code,
        lines=[LineInput(quantity=1, name="套餐", unit_price=D(amount))],
        **extra,
    )


def test_codes_are_unique_and_unguessable(org, owner):
    template = make_template(org, per_customer_limit=None)
    c = make_customer(org)
    codes = [coupons.do_issue_coupon(template, c, actor=owner).code for _ in range(60)]
    assert len(set(codes)) == 60
    assert all(len(code) == 12 and set(code) <= set(coupons.ALPHABET) for code in codes)
    template.refresh_from_db()
    assert template.issued_count == 60


def test_validity_n_days_after_issue_or_fixed_local_days(org, owner):
    c = make_customer(org)
    issued_at = datetime(2030, 1, 10, 9, 30, tzinfo=ZoneInfo("UTC"))
    coupon = coupons.do_issue_coupon(
        make_template(org, valid_days=7), c, actor=owner, now=issued_at
    )
    assert (coupon.valid_from, coupon.expires_at) == (issued_at, issued_at + timedelta(days=7))
    fixed = make_template(
        org,
        validity=Validity.FIXED,
        valid_from=date(2030, 2, 1),
        valid_until=date(2030, 2, 14),
        valid_days=None,
    )
    coupon = coupons.do_issue_coupon(fixed, c, actor=owner, now=issued_at)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert coupon.valid_from == datetime(2030, 2, 1, tzinfo=shanghai)
    assert coupon.expires_at == datetime(
        2030, 2, 15, tzinfo=shanghai
    )  # through the whole of 14 Feb, local time


def test_per_customer_limit(org, owner):
    template = make_template(org, per_customer_limit=2)
    c = make_customer(org)
    coupons.do_issue_coupon(template, c, actor=owner)
    coupons.do_issue_coupon(template, c, actor=owner)
    with pytest.raises(ValidationError, match="already has 2 of this coupon"):
        coupons.do_issue_coupon(template, c, actor=owner)
    template.refresh_from_db()
    assert template.issued_count == 2 == Coupon.objects.count()


def test_issuing_to_a_list_stops_at_the_quota_and_reports_the_rest(org, owner):
    template = make_template(org, quota=3)
    customers = [make_customer(org, name=f"客户{i}") for i in range(5)]
    result = coupons.do_issue_coupons(template, customers, actor=owner)
    assert [c.customer_id for c in result.issued] == [c.pk for c in customers[:3]]
    assert [(c.pk, m) for c, m in result.skipped] == [
        (c.pk, "All 3 coupons of this kind have been issued.") for c in customers[3:]
    ]
    template.refresh_from_db()
    assert template.issued_count == 3


def test_minimum_tier(org, store1, owner):
    ensure_program(org)
    template = make_template(org, min_tier=Tier.objects.get(organisation=org, name="Gold"))
    regular, gold = make_customer(org), make_customer(org)
    make_order(gold, store1, unit_price="1000.00")
    with pytest.raises(ValidationError, match="below the Gold tier"):
        coupons.do_issue_coupon(template, regular, actor=owner)
    assert coupons.do_issue_coupon(template, gold, actor=owner).customer_id == gold.pk


def test_templates_past_their_dates_or_stopped_issue_nothing(org, owner):
    c = make_customer(org)
    ended = make_template(
        org, validity=Validity.FIXED, valid_until=date(2020, 1, 31), valid_days=None
    )
    with pytest.raises(ValidationError, match="already ended"):
        coupons.do_issue_coupon(ended, c, actor=owner)
    stopped = make_template(org, is_active=False)
    with pytest.raises(ValidationError, match="no longer be issued"):
        coupons.do_issue_coupon(stopped, c, actor=owner)
    assert Coupon.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": None}, "amount"),
        ({"threshold": D("20")}, "threshold"),
        ({"kind": CouponKind.PERCENT_OFF, "percent_off": None}, "percent_off"),
        ({"validity": Validity.FIXED, "valid_until": None}, "valid_until"),
        ({"valid_days": None}, "valid_days"),
    ],
)
def test_templates_that_make_no_sense_are_refused(org, fields, field):
    template = CouponTemplate(
        organisation=org,
        **{
            "name": "x",
            "kind": CouponKind.AMOUNT_OFF,
            "amount": D("30"),
            "threshold": D("150"),
            "valid_days": 30,
            **fields,
        },
    )
    with pytest.raises(ValidationError) as info:
        coupons.clean_template(template)
    assert field in info.value.message_dict


def test_descriptions():
    assert (
        describe_template(
            CouponTemplate(kind=CouponKind.AMOUNT_OFF, amount=D("30"), threshold=D("150"))
        )
        == "¥30 off orders of ¥150"
    )
    assert (
        describe_template(CouponTemplate(kind=CouponKind.NO_THRESHOLD, amount=D("20.50")))
        == "¥20.5 off, no minimum"
    )
    assert (
        describe_template(
            CouponTemplate(kind=CouponKind.PERCENT_OFF, percent_off=D("12"), max_discount=D("50"))
        )
        == "12% off (up to ¥50)"
    )


def test_redemption_refusals(org, store1, owner):
    template = make_template(
        org, kind=CouponKind.NO_THRESHOLD, threshold=D("0"), amount=D("20"), per_customer_limit=None
    )
    her, other = make_customer(org), make_customer(org)
    coupon = coupons.do_issue_coupon(template, her, actor=owner)
    kwargs = {"organisation_id": org.pk, "actor": owner}
    with pytest.raises(ValidationError, match="belongs to another customer"):
        coupons.do_redeem_coupon(code=coupon.code, customer=other, **kwargs)
    with pytest.raises(ValidationError, match="No coupon has the code"):
        coupons.do_redeem_coupon(code="NOPE2345", customer=her, **kwargs)
    # Typed in lower case with spaces, it still matches.
    used = coupons.do_redeem_coupon(
        code=" " + coupon.code.lower()[:6] + " " + coupon.code.lower()[6:], customer=her, **kwargs
    )
    assert used.status == CouponStatus.REDEEMED
    with pytest.raises(ValidationError, match="already been used"):
        coupons.do_redeem_coupon(code=coupon.code, customer=her, **kwargs)
    expired = coupons.do_issue_coupon(
        template, her, actor=owner, now=timezone.now() - timedelta(days=40)
    )
    with pytest.raises(ValidationError, match="expired on"):
        coupons.do_redeem_coupon(code=expired.code, customer=her, **kwargs)
    later = make_template(
        org,
        validity=Validity.FIXED,
        valid_from=date(2100, 1, 1),
        valid_until=date(2100, 1, 31),
        valid_days=None,
    )
    upcoming = coupons.do_issue_coupon(later, her, actor=owner)
    with pytest.raises(ValidationError, match="can be used from 2100-01-01"):
        coupons.do_redeem_coupon(code=upcoming.code, customer=her, **kwargs)
    assert Coupon.objects.filter(status=CouponStatus.REDEEMED).count() == 1


def test_voiding(org, owner):
    template = make_template(org, per_customer_limit=None)
    c = make_customer(org)
    coupon = coupons.do_issue_coupon(template, c, actor=owner)
    coupons.do_void_coupon(coupon, actor=owner, reason="issued by mistake")
    assert (coupon.status, coupon.void_reason) == (CouponStatus.VOID, "issued by mistake")
    with pytest.raises(ValidationError, match="Only an unused coupon"):
        coupons.do_void_coupon(coupon, actor=owner)
    with pytest.raises(ValidationError, match="voided"):
        coupons.do_redeem_coupon(organisation_id=org.pk, code=coupon.code, customer=c, actor=owner)
    used = coupons.do_issue_coupon(template, c, actor=owner)
    coupons.do_redeem_coupon(organisation_id=org.pk, code=used.code, customer=c, actor=owner)
    with pytest.raises(ValidationError):
        coupons.do_void_coupon(used, actor=owner)
    used.refresh_from_db()
    assert used.status == CouponStatus.REDEEMED


def test_expiry_job_marks_only_unused_coupons_past_their_date(org, owner):
    template = make_template(org, per_customer_limit=None, valid_days=10)
    c = make_customer(org)
    now = timezone.now()
    old = coupons.do_issue_coupon(template, c, actor=owner, now=now - timedelta(days=11))
    fresh = coupons.do_issue_coupon(template, c, actor=owner, now=now)
    used_old = coupons.do_issue_coupon(template, c, actor=owner, now=now - timedelta(days=5))
    coupons.do_redeem_coupon(organisation_id=org.pk, code=used_old.code, customer=c, actor=owner)
    assert coupons.do_expire_coupons(now=now) == 1
    states = {x.pk: x.status for x in Coupon.objects.all()}
    assert states == {old.pk: "expired", fresh.pk: "issued", used_old.pk: "redeemed"}
    assert coupons.do_expire_coupons(now=now) == 0


@pytest.mark.parametrize(
    ("refund", "setting", "expected"),
    [("all", True, "issued"), ("part", True, "redeemed"), ("all", False, "redeemed")],
)
def test_a_fully_refunded_order_gives_its_coupon_back(
    org, store1, owner, refund, setting, expected
):
    rules = ensure_program(org)
    rules.return_coupon_on_refund = setting
    rules.save()
    c = make_customer(org)
    coupon = coupons.do_issue_coupon(make_template(org), c, actor=owner)
    order = checkout(org, store1, c, "200.00", coupon.code)
    assert (order.coupon_amount, order.net_paid) == (D("30.00"), D("170.00"))
    do_refund_order(order=order, actor=owner, amount=None if refund == "all" else "10.00")
    coupon.refresh_from_db()
    assert coupon.status == expected
    assert (coupon.order_id is None) == (expected == "issued")


def test_an_expired_coupon_is_not_given_back(org, store1, owner):
    c = make_customer(org)
    coupon = coupons.do_issue_coupon(
        make_template(org, valid_days=1), c, actor=owner, now=timezone.now() - timedelta(hours=23)
    )
    order = checkout(org, store1, c, "200.00", coupon.code)
    Coupon.objects.filter(pk=coupon.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    do_refund_order(order=order, actor=owner)
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED


def test_template_results_count_coupons_and_revenue(org, store1, owner):
    template = make_template(org, per_customer_limit=None)
    other = make_template(org, name="other")
    c = make_customer(org)
    codes = [coupons.do_issue_coupon(template, c, actor=owner).code for _ in range(4)]
    checkout(org, store1, c, "200.00", codes[0])  # net 170
    partly = checkout(org, store1, c, "300.00", codes[1])  # net 270, 70 refunded below
    do_refund_order(order=partly, actor=owner, amount="70.00")
    coupons.do_void_coupon(Coupon.objects.get(code=codes[2]), actor=owner)
    Coupon.objects.filter(code=codes[3]).update(status=CouponStatus.EXPIRED)
    rows = {t.pk: t for t in template_results(org.pk)}
    t = rows[template.pk]
    assert (t.n_issued, t.n_redeemed, t.n_expired, t.n_void, t.revenue) == (4, 2, 1, 1, D("370.00"))
    assert (rows[other.pk].n_issued, rows[other.pk].revenue) == (0, D("0.00"))


def test_category_limited_coupon_counts_only_those_items(org, store1, owner):
    masks = Category.objects.create(organisation=org, name="面膜")
    template = make_template(org)
    template.categories.set([masks])
    assert describe_template(template) == "¥30 off orders of ¥150 (only 面膜)"
