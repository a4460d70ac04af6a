"""Issue 19 item 3: deletions, merges, anonymisations and voids are visible in the change feeds.

Orders, coupons and messages that leave their feed come back as tombstones
(GET /api/v1/changes/tombstones); rows that change without leaving (a void, an expiry, a row
moved to the kept customer by a merge, a message sent) come again in their own feed after the
client's cursor. Read through the API with a token, as a sync client does.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from huitouke.accounts.tokens import create_api_token
from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.privacy import do_erase_customer
from huitouke.imports.visits import do_merge_visit_orders
from huitouke.loyalty import coupons
from huitouke.loyalty.models import Coupon, CouponKind, CouponTemplate
from huitouke.messaging.models import Message
from huitouke.messaging.outbox import claim
from huitouke.sales.models import Order
from tests.helpers import make_customer, make_order
from tests.imports.test_visits import BOOK, run, write_book

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def settled(settings: Any) -> None:
    settings.FEED_SETTLE_SECONDS = 0


def feed(token: str, path: str, cursor: str | None = None) -> dict[str, Any]:
    response = Client().get(
        f"/api/v1/changes/{path}",
        {"cursor": cursor, "limit": 200} if cursor else {"limit": 200},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def stones(token: str, cursor: str | None = None) -> set[tuple[str, int, str, int | None]]:
    return {
        (s["kind"], s["object_id"], s["reason"], s["replaced_by_id"])
        for s in feed(token, "tombstones", cursor)["items"]
    }


def template(org: Any) -> CouponTemplate:
    return CouponTemplate.objects.create(  # type: ignore[no-any-return]
        organisation=org,
        name="满150减30",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("30"),
        threshold=Decimal("150"),
        valid_days=30,
        per_customer_limit=None,
    )


def test_an_erasure_tombstones_her_messages_orders_and_coupons(
    org: Any, store1: Any, owner: Any
) -> None:
    her = make_customer(org, name="林晓", phone="13912345678")
    other = make_customer(org, name="陈静", phone="13912345679")
    orders = [make_order(her, store1, unit_price="88.00", actor=owner) for _ in range(2)]
    make_order(other, store1, unit_price="10.00", actor=owner)
    coupon = coupons.do_issue_coupon(template(org), her, actor=owner)
    message = Message.objects.create(
        organisation=org,
        customer=her,
        channel="sms",
        recipient="+8613912345678",
        body="林晓您好",
        idempotency_key=f"t-{her.pk}",
    )
    token = create_api_token(owner, "sync", actor=owner)
    before = feed(token, "tombstones")
    assert before["items"] == []
    do_erase_customer(her, actor=owner)
    assert stones(token, before["next_cursor"]) == {
        ("customer", her.pk, "anonymised", None),
        ("message", message.pk, "anonymised", None),
        ("coupon", coupon.pk, "anonymised", None),
        *(("order", o.pk, "anonymised", None) for o in orders),
    }
    assert not Message.objects.filter(pk=message.pk).exists()
    # The money records stay: her orders are still in the order feed, as anonymous ones.
    assert {o["id"] for o in feed(token, "orders")["items"]} >= {o.pk for o in orders}


def test_a_voided_or_expired_coupon_comes_again_in_the_coupon_feed(
    org: Any, store1: Any, owner: Any
) -> None:
    her = make_customer(org, name="林晓")
    kind = template(org)
    voided = coupons.do_issue_coupon(kind, her, actor=owner)
    expiring = coupons.do_issue_coupon(kind, her, actor=owner)
    token = create_api_token(owner, "sync", actor=owner)
    first = feed(token, "coupons")
    assert {c["id"] for c in first["items"]} == {voided.pk, expiring.pk}
    coupons.do_void_coupon(voided, actor=owner, reason="发错了")
    again = feed(token, "coupons", first["next_cursor"])
    assert [(c["id"], c["status"]) for c in again["items"]] == [(voided.pk, "void")]
    Coupon.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert coupons.do_expire_coupons() == 1
    later = feed(token, "coupons", again["next_cursor"])
    assert [(c["id"], c["status"]) for c in later["items"]] == [(expiring.pk, "expired")]


def test_a_customer_merge_sends_her_orders_and_coupons_again_under_the_kept_customer(
    org: Any, store1: Any, owner: Any
) -> None:
    keep = make_customer(org, name="林晓")
    duplicate = make_customer(org, name="林晓 (重复)")
    order = make_order(duplicate, store1, unit_price="50.00", actor=owner)
    coupon = coupons.do_issue_coupon(template(org), duplicate, actor=owner)
    token = create_api_token(owner, "sync", actor=owner)
    orders, coupon_page = feed(token, "orders"), feed(token, "coupons")
    tomb = feed(token, "tombstones")
    do_merge_customers(keep=keep, duplicate=duplicate, actor=owner)
    moved = feed(token, "orders", orders["next_cursor"])["items"]
    assert [(o["id"], o["customer_id"]) for o in moved] == [(order.pk, keep.pk)]
    moved = feed(token, "coupons", coupon_page["next_cursor"])["items"]
    assert [(c["id"], c["customer_id"]) for c in moved] == [(coupon.pk, keep.pk)]
    assert stones(token, tomb["next_cursor"]) == {("customer", duplicate.pk, "merged", keep.pk)}


def test_orders_joined_into_one_visit_are_tombstones_naming_the_kept_order(
    tmp_path: Any, store1: Any, owner: Any
) -> None:
    run(write_book(tmp_path / "订单.xlsx", BOOK), store1, one_order_per_row=True)
    org = store1.organisation
    before = set(Order.objects.values_list("pk", flat=True))
    token = create_api_token(owner, "sync", actor=owner)
    do_merge_visit_orders(org, actor=None, dry_run=False)
    after = set(Order.objects.values_list("pk", flat=True))
    removed = before - after
    assert len(removed) == 2
    found = stones(token)
    assert {s[1] for s in found} == removed
    assert all(kind == "order" and reason == "merged" for kind, _id, reason, _by in found)
    assert {by for *_rest, by in found} <= after


def test_a_message_sent_comes_again_in_the_message_feed(org: Any, owner: Any) -> None:
    her = make_customer(org, name="林晓", phone="13912345678")
    message = Message.objects.create(
        organisation=org,
        customer=her,
        channel="sms",
        recipient="+8613912345678",
        body="您好",
        idempotency_key=f"s-{her.pk}",
    )
    token = create_api_token(owner, "sync", actor=owner)
    first = feed(token, "messages")
    assert [m["id"] for m in first["items"]] == [message.pk]

    assert claim(message.pk, timezone.now())
    again = feed(token, "messages", first["next_cursor"])["items"]
    assert [(m["id"], m["status"]) for m in again] == [(message.pk, "sending")]
