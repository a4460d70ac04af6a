"""Every write path that changes a customer or uses a coupon sends its webhook event, once.

Single saves were always heard; these are the writes that go around `save()` (the quick order's
coupon, imports, handovers, the member page's consent, opt-outs), each checked at a real local
receiver after commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

from huitouke.customers.models import Customer
from huitouke.customers.ownership import do_hand_over_customers
from huitouke.imports.actions import do_commit_import
from huitouke.integrations.webhooks import do_create_endpoint
from huitouke.loyalty import coupons
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.models import CouponKind, CouponTemplate
from huitouke.members.actions import do_set_consent
from huitouke.messaging.opt_outs import do_opt_out, do_remove_opt_out
from huitouke.sales.actions import LineInput
from tests.helpers import make_customer
from tests.imports.importfiles import write_csv
from tests.integrations.receiver import Receiver, running_receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    HUEY.immediate = True
    with running_receiver() as receiver:
        yield receiver
    HUEY.immediate = False


def _subscribe(org: Any, owner: Any, receiver: Receiver, events: list[str]) -> None:
    _endpoint, receiver.secret = do_create_endpoint(
        organisation=org, url=receiver.url, events=events, actor=owner
    )


def _got(receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    assert all(r["verified"] for r in receiver.received)
    return [(r["payload"]["type"], r["payload"]["data"]) for r in receiver.received]


def _coupon(org: Any, owner: Any, customer: Any) -> Any:
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满100减20",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("20"),
        threshold=Decimal("100"),
        valid_days=30,
    )
    return coupons.do_issue_coupon(template, customer, actor=owner)


def test_a_coupon_used_in_the_quick_order_is_an_event(
    org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    customer = make_customer(org, actor=owner)
    coupon = _coupon(org, owner, customer)
    _subscribe(org, owner, receiver, ["coupon.redeemed"])
    order = do_checkout(
        organisation=org,
        store=store1,
        customer=customer,
        lines=[LineInput(quantity=1, name="精华", unit_price=Decimal("128.00"))],
        actor=owner,
        coupon_code=coupon.code,
    )
    assert order.coupon_amount == Decimal("20.00")
    assert _got(receiver) == [
        (
            "coupon.redeemed",
            {"customer_id": customer.pk, "coupon_id": coupon.pk, "order_id": order.pk},
        )
    ]


def test_a_coupon_used_at_another_till_is_one_event(
    org: Any, owner: Any, receiver: Receiver
) -> None:
    customer = make_customer(org, actor=owner)
    coupon = _coupon(org, owner, customer)
    _subscribe(org, owner, receiver, ["coupon.redeemed"])
    coupons.do_redeem_coupon(
        organisation_id=org.pk, code=coupon.code, customer=customer, actor=owner
    )
    assert _got(receiver) == [
        ("coupon.redeemed", {"customer_id": customer.pk, "coupon_id": coupon.pk, "order_id": None})
    ]


def test_an_import_announces_the_customers_it_creates_and_changes(
    tmp_path: Path, org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    known = make_customer(org, actor=owner, phone="13900000003", external_id="M003")
    _subscribe(org, owner, receiver, ["customer.created", "customer.updated"])
    header = ["会员编号", "姓名", "手机", "城市"]
    rows = [
        ["M001", "林晓雨", "13800138000", "上海"],
        ["M002", "陈静", "13900000002", "杭州"],
        ["M003", "王强", "13900000003", "成都"],
    ]

    def run() -> Any:
        return do_commit_import(
            write_csv(tmp_path / "c.csv", header, rows),
            organisation=org,
            store=store1,
            kind="customers",
            actor=None,
        )

    summary = run()
    assert (summary.created, summary.updated) == (2, 1)
    new = dict(
        Customer.objects.filter(external_id__in=["M001", "M002"]).values_list("external_id", "pk")
    )
    assert sorted(_got(receiver), key=lambda e: (e[0], e[1]["customer_id"])) == [
        ("customer.created", {"customer_id": new["M001"], "external_id": "M001"}),
        ("customer.created", {"customer_id": new["M002"], "external_id": "M002"}),
        ("customer.updated", {"customer_id": known.pk, "external_id": "M003"}),
    ]
    # The same file again changes nothing, so it says nothing.
    receiver.received.clear()
    assert (run().created, run().updated) == (0, 0)
    assert receiver.received == []


def test_a_handover_announces_the_customers_it_moves(
    org: Any, owner: Any, staff_a: Any, staff_b: Any, receiver: Receiver
) -> None:
    mine = [make_customer(org, actor=owner, owner=staff_a) for _ in range(2)]
    make_customer(org, actor=owner, owner=staff_b)
    before = {c.pk: c.updated_at for c in mine}
    _subscribe(org, owner, receiver, ["customer.updated"])
    assert do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner) == 2
    assert sorted(_got(receiver), key=lambda e: e[1]["customer_id"]) == [
        ("customer.updated", {"customer_id": c.pk, "external_id": ""}) for c in mine
    ]
    # The change feed sees them again too.
    for c in Customer.objects.filter(pk__in=before):
        assert c.owner_id == staff_b.pk and c.updated_at > before[c.pk]


def test_consent_from_the_member_page_is_an_event(org: Any, owner: Any, receiver: Receiver) -> None:
    customer = make_customer(org, actor=owner)
    _subscribe(org, owner, receiver, ["consent.changed"])
    do_set_consent(customer, channel="sms", granted=False)
    assert _got(receiver) == [
        (
            "consent.changed",
            {"customer_id": customer.pk, "sms": False, "email": True, "wechat": True},
        )
    ]
    # Tapping "no" again changes nothing.
    do_set_consent(customer, channel="sms", granted=False)
    assert len(receiver.received) == 1


def test_an_opt_out_and_its_withdrawal_are_events(org: Any, owner: Any, receiver: Receiver) -> None:
    customer = make_customer(org, actor=owner)
    _subscribe(org, owner, receiver, ["consent.changed", "customer.updated"])
    do_opt_out(customer, channel="all", source="manual", actor=owner)
    off = {"customer_id": customer.pk, "sms": False, "email": False, "wechat": False}
    assert _got(receiver) == [
        ("customer.updated", {"customer_id": customer.pk, "external_id": ""}),
        ("consent.changed", off),
    ]
    do_remove_opt_out(customer, channel="all", actor=owner)
    assert _got(receiver)[2:] == [("consent.changed", off)]
