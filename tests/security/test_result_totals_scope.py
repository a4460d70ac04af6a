"""Issue 14 item 3: a rule's, campaign's and staff results' totals count what the viewer may see.

The owner's organisation-wide rule reached customers of both stores; the manager of store 1 sees
on its page (and in the API, and on the rule list) only the figures of the customers in her scope
(home store 1, or her own), the same people its list of enrolments shows her. Every expected
number below is worked out by hand from the five customers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from tests.automation.conftest import local
from tests.helpers import make_customer, make_order

from huitouke.accounts.tokens import create_api_token
from huitouke.automation.actions import do_save_rule, new_rule
from huitouke.automation.models import AutomationRule, Enrolment, Trigger
from huitouke.automation.results import rule_results
from huitouke.followups.queries import staff_results
from huitouke.loyalty.models import Coupon, CouponTemplate
from huitouke.messaging.models import Channel, Message

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 1, 10, 0)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def reached(
    org: Any, store1: Any, store2: Any, owner: Any, manager: Any, staff_a: Any, staff_c: Any
) -> AutomationRule:
    """The owner's rule and five enrolments: A (store 1) and C (the manager's own, store 2) are
    in the manager's scope; B, D, E (store 2, staff_c) are not."""
    rule = do_save_rule(
        new_rule(
            org,
            name="全店关怀",
            trigger=Trigger.BIRTHDAY,
            params={},
            actions=[{"type": "add_tag", "tag": "x"}],
            is_active=True,
        ),
        actor=owner,
    )
    template = CouponTemplate.objects.create(
        organisation=org, name="减20", kind="amount_off", amount=Decimal("20"), valid_days=30
    )
    people = {
        "A": make_customer(org, name="本店甲", home_store=store1, owner=staff_a),
        "B": make_customer(org, name="外店乙", home_store=store2, owner=staff_c),
        "C": make_customer(org, name="店长丙", home_store=store2, owner=manager),
        "D": make_customer(org, name="外店丁", home_store=store2, owner=staff_c),
        "E": make_customer(org, name="外店戊", home_store=store2, owner=staff_c),
    }

    def enrol(name: str, status: str, reason: str = "") -> Enrolment:
        return Enrolment.objects.create(
            organisation=org,
            rule=rule,
            customer=people[name],
            occurrence_key="birthday:2026",
            status=status,
            reason=reason,
            due_at=T0,
            acted_at=T0,
        )

    def message(enrolment: Enrolment, status: str, reason: str = "") -> None:
        Message.objects.create(
            organisation=org,
            customer=enrolment.customer,
            channel=Channel.SMS,
            body="…",
            rule=rule,
            enrolment=enrolment,
            status=status,
            reason=reason,
            sent_at=T0 if status == "sent" else None,
            delivered_at=T0 if status == "sent" else None,
            cost=Decimal("0.10") if status == "sent" else Decimal("0"),
            idempotency_key=f"k{enrolment.pk}",
        )

    a = enrol("A", "done")  # messaged, buys 150 two days later
    message(a, "sent")
    make_order(people["A"], store1, unit_price="150", placed_at=T0 + 2 * DAY)
    b = enrol("B", "done")  # messaged, buys 320 with her 20 coupon: net 300
    message(b, "sent")
    order = make_order(
        people["B"], store2, unit_price="320", coupon_amount="20", placed_at=T0 + 3 * DAY
    )
    coupon = Coupon.objects.create(
        organisation=org,
        template=template,
        customer=people["B"],
        code="CB1",
        valid_from=T0,
        expires_at=T0 + 30 * DAY,
        status="redeemed",
        redeemed_at=order.placed_at,
        order=order,
    )
    Enrolment.objects.filter(pk=b.pk).update(coupon=coupon)
    enrol("C", "holdout")  # held out, buys 200
    make_order(people["C"], store2, unit_price="200", placed_at=T0 + DAY)
    message(enrol("D", "suppressed", "opted_out"), "suppressed", reason="opted_out")
    message(enrol("E", "done"), "failed")
    return rule


def test_the_results_count_only_the_customers_the_viewer_sees(
    reached: AutomationRule, owner: Any, manager: Any
) -> None:
    everyone = rule_results(reached, viewer=owner)
    assert (everyone.targeted, everyone.treated, everyone.holdout) == (5, 3, 1)
    assert (everyone.suppressed_customers, everyone.suppressed) == (1, {"opted_out": 1})
    assert (everyone.sent, everyone.failed, everyone.message_cost) == (2, 1, Decimal("0.20"))
    assert (everyone.coupons_issued, everyone.coupons_redeemed) == (1, 1)
    assert (everyone.converters, everyone.attributed_revenue) == (2, Decimal("450.00"))
    assert everyone.cost == Decimal("20.20")
    assert rule_results(reached) == everyone  # no viewer: the command line's whole rule

    hers = rule_results(reached, viewer=manager)  # A and C only
    assert (hers.targeted, hers.treated, hers.holdout, hers.suppressed_customers) == (2, 1, 1, 0)
    assert (hers.sent, hers.failed, hers.suppressed) == (1, 0, {})
    assert (hers.coupons_issued, hers.coupons_redeemed, hers.cost) == (0, 0, Decimal("0.10"))
    assert (hers.converters, hers.attributed_revenue) == (1, Decimal("150.00"))
    assert (hers.holdout_converters, hers.holdout_revenue) == (1, Decimal("200.00"))
    assert hers.roi == Decimal("1499.0000")  # (150 - 0.10) / 0.10


def kpis(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="(\w+)">([^<]*)<', page))


def test_the_rule_page_the_list_and_the_api_agree_with_the_viewers_scope(
    client: Any, reached: AutomationRule, owner: Any, manager: Any
) -> None:
    detail = reverse("automation:detail", args=[reached.pk])
    client.force_login(owner)
    page = client.get(detail).content.decode()
    assert kpis(page)["targeted"] == "5" and kpis(page)["sent"] == "2"
    assert "外店乙" in page
    listing = client.get(reverse("automation:list")).content.decode()
    assert '<td class="num">3</td>' in listing  # done: A, B, E

    client.force_login(manager)
    page = client.get(detail).content.decode()
    assert kpis(page)["targeted"] == "2" and kpis(page)["sent"] == "1"
    assert kpis(page)["converters"] == "1"
    assert "外店乙" not in page and "本店甲" in page and "店长丙" in page
    assert "message failed" not in page  # E's failure is not hers to see
    listing = client.get(reverse("automation:list")).content.decode()
    assert '<td class="num">1</td>' in listing and '<td class="num">3</td>' not in listing
    token = create_api_token(manager, "test", actor=manager)
    api = client.get(
        f"/api/v1/automations/{reached.pk}/results", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert (api["targeted"], api["sent"], api["attributed_revenue"]) == (2, 1, "150.00")


def test_staff_results_count_only_customers_and_orders_the_manager_sees(
    org: Any, store1: Any, store2: Any, owner: Any, manager: Any, staff_a: Any
) -> None:
    # staff_a (store 1) owns one customer at home in store 1 and one at home in store 2: the
    # manager of store 1 may not see the second, so neither she nor her 500 counts for her.
    here = make_customer(org, name="本店客", home_store=store1, owner=staff_a)
    away = make_customer(org, name="二店客", home_store=store2, owner=staff_a)
    day = local(2026, 3, 2, 12, 0)
    make_order(here, store1, unit_price="80", placed_at=day)
    make_order(away, store2, unit_price="500", placed_at=day)
    start = end = day.date()

    def row(user: Any) -> Any:
        return next(r for r in staff_results(user, start, end) if r.staff == staff_a)

    assert (row(owner).customers, row(owner).revenue, row(owner).buyers) == (
        2,
        Decimal("580.00"),
        2,
    )
    assert (row(manager).customers, row(manager).revenue, row(manager).buyers) == (
        1,
        Decimal("80.00"),
        1,
    )
