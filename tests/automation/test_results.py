"""Campaign results against a hand-worked example."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tests.automation.conftest import local, make_rule
from tests.helpers import make_customer, make_order

from huitouke.automation.models import Enrolment, Trigger
from huitouke.automation.results import rule_results
from huitouke.loyalty.models import Coupon, CouponTemplate
from huitouke.messaging.models import Channel, Message
from huitouke.sales.actions import do_refund_order

T0 = local(2026, 3, 1, 10, 0)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.mark.django_db
def test_results_match_the_hand_worked_example(org: Any, store1: Any, owner: Any) -> None:
    rule = make_rule(
        org, trigger=Trigger.BIRTHDAY, params={}, actions=[{"type": "add_tag", "tag": "x"}]
    )
    coupon_template = CouponTemplate.objects.create(
        organisation=org,
        name="满100减20",
        kind="amount_off",
        amount=Decimal("20"),
        threshold=Decimal("100"),
        valid_days=30,
    )
    people = {name: make_customer(org, name=name) for name in "ABCDEFGH"}

    def enrol(name: str, status: str, reason: str = "", event_order: Any = None) -> Enrolment:
        return Enrolment.objects.create(
            organisation=org,
            rule=rule,
            customer=people[name],
            occurrence_key="birthday:2026",
            status=status,
            reason=reason,
            due_at=T0,
            acted_at=T0,
            event_order=event_order,
        )

    def message(
        enrolment: Enrolment,
        status: str,
        sent_at: Any = None,
        delivered: bool = False,
        reason: str = "",
    ) -> None:
        Message.objects.create(
            organisation=org,
            customer=enrolment.customer,
            channel=Channel.SMS,
            body="…",
            rule=rule,
            enrolment=enrolment,
            status=status,
            reason=reason,
            sent_at=sent_at,
            delivered_at=sent_at if delivered else None,
            cost=Decimal("0.10") if status == "sent" else Decimal("0"),
            idempotency_key=f"k{enrolment.pk}",
        )

    def coupon(enrolment: Enrolment, order: Any = None) -> None:
        issued = Coupon.objects.create(
            organisation=org,
            template=coupon_template,
            customer=enrolment.customer,
            code=f"C{enrolment.pk}",
            valid_from=T0,
            expires_at=T0 + 30 * DAY,
            status="redeemed" if order else "issued",
            redeemed_at=order.placed_at if order else None,
            order=order,
        )
        Enrolment.objects.filter(pk=enrolment.pk).update(coupon=issued)

    # A: messaged at T0+1h, buys with the coupon 2 days later (net 150); an order before the
    #    message does not count.
    a = enrol("A", "done")
    message(a, "sent", T0 + HOUR, delivered=True)
    make_order(people["A"], store1, unit_price="500", placed_at=T0 + HOUR / 2)
    redeemed = make_order(
        people["A"], store1, unit_price="170", coupon_amount="20", placed_at=T0 + HOUR + 2 * DAY
    )
    coupon(a, redeemed)
    # B: messaged, buys 8 days later: outside the 7-day window.
    b = enrol("B", "done")
    message(b, "sent", T0, delivered=False)
    coupon(b)
    make_order(people["B"], store1, unit_price="300", placed_at=T0 + 8 * DAY)
    # C: the message failed; measured from the enrolment; buys 100, 40 refunded -> 60.
    c = enrol("C", "done")
    message(c, "failed")
    partly = make_order(people["C"], store1, unit_price="100", placed_at=T0 + 3 * DAY)
    do_refund_order(order=partly, actor=owner, amount="40")
    # D: messaged; her only order in the window is the one that triggered the enrolment.
    trigger_order = make_order(people["D"], store1, unit_price="999", placed_at=T0 + DAY)
    d = enrol("D", "done", event_order=trigger_order)
    message(d, "sent", T0, delivered=True)
    coupon(d)
    # Holdout: E buys 200 two days after being held out, F buys nothing.
    enrol("E", "holdout")
    make_order(people["E"], store1, unit_price="200", placed_at=T0 + 2 * DAY)
    enrol("F", "holdout")
    # Suppressed: G opted out, H hit the frequency cap.
    message(enrol("G", "suppressed", "opted_out"), "suppressed", reason="opted_out")
    message(enrol("H", "suppressed", "frequency_cap"), "suppressed", reason="frequency_cap")
    # Not counted at all: skipped enrolments.
    Enrolment.objects.create(
        organisation=org,
        rule=rule,
        customer=people["A"],
        occurrence_key="x",
        status="skipped",
        due_at=T0,
    )

    r = rule_results(rule)

    assert (r.targeted, r.treated, r.holdout, r.suppressed_customers) == (8, 4, 2, 2)
    assert (r.sent, r.delivered, r.failed) == (3, 2, 1)
    assert r.suppressed == {"frequency_cap": 1, "opted_out": 1}
    assert (r.coupons_issued, r.coupons_redeemed) == (3, 1)
    assert (r.converters, r.attributed_revenue) == (2, Decimal("210.00"))  # A 150 + C 60
    assert (r.holdout_converters, r.holdout_revenue) == (1, Decimal("200.00"))
    assert (r.message_cost, r.coupon_cost, r.cost) == (
        Decimal("0.30"),
        Decimal("20.00"),
        Decimal("20.30"),
    )
    assert r.roi == Decimal("9.3448")  # (210 - 20.30) / 20.30 = 9.34483
    assert (r.conversion_rate, r.holdout_conversion_rate, r.uplift) == (0.5, 0.5, 0.0)
    # 1.96 * sqrt(0.25/4 + 0.25/2) = 1.96 * 0.4330 = 0.8487
    assert r.uplift_ci is not None
    assert r.uplift_ci[0] == pytest.approx(-0.84870, abs=1e-4) and r.uplift_ci[1] == pytest.approx(
        0.84870, abs=1e-4
    )
    assert (r.revenue_per_customer, r.holdout_revenue_per_customer, r.revenue_uplift) == (
        Decimal("52.50"),
        Decimal("100.00"),
        Decimal("-47.50"),
    )


@pytest.mark.django_db
def test_a_rule_with_no_enrolments_has_empty_results(org: Any) -> None:
    rule = make_rule(
        org, trigger=Trigger.BIRTHDAY, params={}, actions=[{"type": "add_tag", "tag": "x"}]
    )
    r = rule_results(rule)
    assert (r.targeted, r.roi, r.uplift, r.conversion_rate) == (0, None, None, None)
