"""Issue 14 item 11: the owner exports everything held about one customer, and erases her.

The sums (orders, net spend, points balance, coupon counts) are computed before the erasure from
the rows themselves and compared after: the money records stay, only the person goes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.audit.models import AuditEntry
from huitouke.customers.actions import do_add_interaction
from huitouke.customers.models import Customer, Interaction
from huitouke.followups.actions import do_create_task
from huitouke.followups.models import FollowUpTask
from huitouke.integrations.models import Tombstone
from huitouke.loyalty.actions import do_adjust_points
from huitouke.loyalty.models import PointsEntry
from huitouke.members.actions import do_request_data, do_set_consent
from huitouke.members.models import ConsentEvent
from huitouke.messaging.models import Message, OptOut
from huitouke.messaging.opt_outs import do_opt_out
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db

NUMBER = "13912345678"


@pytest.fixture
def her(org: Any, store1: Any, owner: Any, staff_a: Any) -> Customer:
    customer = make_customer(
        org,
        name="林晓",
        phone=NUMBER,
        home_store=store1,
        owner=staff_a,
        wechat_id="linxiao_wx",
        email="lin@example.com",
        city="上海",
        notes="对花粉过敏",
        birth_month=5,
        birth_day=6,
        tags=["VIP"],
    )
    make_order(customer, store1, unit_price="388.00", actor=owner)
    make_order(customer, store1, unit_price="120.50", actor=owner)
    do_adjust_points(customer, points=500, reason="开业礼", actor=owner)
    do_add_interaction(customer, actor=staff_a, kind="call", note="她说下周来")
    do_create_task(
        customer=customer, kind="call", due_at=timezone.now() + timedelta(days=1), actor=owner
    )
    do_set_consent(customer, channel="sms", granted=True)
    do_opt_out(customer, channel="email", source="manual", actor=owner)
    Message.objects.create(
        organisation=org,
        customer=customer,
        channel="sms",
        recipient="+86" + NUMBER,
        body="林晓您好，您的积分即将过期",
        idempotency_key=f"pipl-{customer.pk}",
    )
    return customer


def as_owner(owner: Any) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_owner_downloads_everything_held_about_her(owner: Any, her: Customer) -> None:
    response = as_owner(owner).get(reverse("customers:privacy_export", args=[her.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["customer"]["name"] == "林晓"
    assert data["customer"]["phone"] == "+86" + NUMBER
    assert data["tags"] == ["VIP"]
    assert len(data["orders"]) == 2
    assert {Decimal(o["net_paid"]) for o in data["orders"]} == {
        Decimal("388.00"),
        Decimal("120.50"),
    }
    assert (
        sum(p["points"] for p in data["points"])
        == PointsEntry.objects.filter(customer=her).aggregate(s=Sum("points"))["s"]
    )
    assert [i["note"] for i in data["interactions"]] == ["她说下周来"]
    assert len(data["tasks"]) == 1
    assert [m["body"] for m in data["messages"]] == ["林晓您好，您的积分即将过期"]
    assert [(c["channel"], c["granted"]) for c in data["consent_events"]] == [("sms", True)]
    assert [o["channel"] for o in data["opt_outs"]] == ["email"]
    assert {"customer_data_export"} <= {
        e.action for e in AuditEntry.objects.filter(object_id=str(her.pk))
    }
    # The audit of reads about her is in the file (an earlier reveal shows there).
    as_owner(owner).post(reverse("customers:reveal_phone", args=[her.pk]))
    again = json.loads(
        as_owner(owner).get(reverse("customers:privacy_export", args=[her.pk])).content
    )
    assert "phone_reveal" in {a["action"] for a in again["audit"]}


def test_erasure_keeps_the_money_and_removes_the_person(
    org: Any, owner: Any, her: Customer
) -> None:
    orders_before = Order.objects.filter(organisation=org).aggregate(s=Sum("net_paid"))["s"]
    her_orders = Order.objects.filter(customer=her).count()
    points_before = PointsEntry.objects.filter(customer=her).aggregate(s=Sum("points"))["s"]
    stats_before = Customer.objects.get(pk=her.pk).stats.net_spend
    assert stats_before == Decimal("508.50")
    client = as_owner(owner)
    response = client.post(reverse("customers:privacy_erase", args=[her.pk]), {"confirm": "yes"})
    assert response.status_code == 302

    her.refresh_from_db()
    assert her.name == f"已删除客户 #{her.pk}"
    assert (her.phone, her.wechat_id, her.email, her.city, her.notes) == (None, "", "", "", "")
    assert (her.birth_month, her.birth_day, her.owner_id, her.custom) == (None, None, None, {})
    assert not (her.consent_sms or her.consent_email or her.consent_wechat)
    assert her.tags.count() == 0
    # Money records stay and add up.
    assert Order.objects.filter(organisation=org).aggregate(s=Sum("net_paid"))["s"] == orders_before
    assert Order.objects.filter(customer=her).count() == her_orders
    assert PointsEntry.objects.filter(customer=her).aggregate(s=Sum("points"))["s"] == points_before
    her.stats.refresh_from_db()
    assert her.stats.net_spend == stats_before
    # The person goes: messages, contacts, tasks, consents.
    for model in (Message, Interaction, FollowUpTask, ConsentEvent, OptOut):
        assert not model.objects.filter(customer=her).exists(), model.__name__
    # She leaves the lists, her page and the feeds; the act is audited and tombstoned.
    assert not Customer.objects.visible_to(owner).filter(pk=her.pk).exists()
    assert client.get(reverse("customers:detail", args=[her.pk])).status_code == 404
    entry = AuditEntry.objects.get(action="customer_anonymised")
    assert entry.actor_id == owner.pk and entry.object_id == str(her.pk)
    assert Tombstone.objects.filter(
        kind=Tombstone.Kind.CUSTOMER, object_id=her.pk, reason=Tombstone.Reason.ANONYMISED
    ).exists()
    assert not AuditEntry.objects.filter(object_repr__contains="林晓").exists()
    assert "林晓" not in client.get(reverse("customers:list")).content.decode()


def test_only_the_owner_may_export_or_erase(
    org: Any, manager: Any, staff_a: Any, other_owner: Any, her: Customer
) -> None:
    for user in (manager, staff_a, other_owner):
        client = Client()
        client.force_login(user)
        for name in ("customers:privacy", "customers:privacy_export"):
            assert client.get(reverse(name, args=[her.pk])).status_code in (403, 404)
        response = client.post(
            reverse("customers:privacy_erase", args=[her.pk]), {"confirm": "yes"}
        )
        assert response.status_code in (403, 404)
    her.refresh_from_db()
    assert her.name == "林晓" and her.phone == "+86" + NUMBER
    assert not AuditEntry.objects.filter(
        action__in=["customer_data_export", "customer_anonymised"]
    ).exists()


def test_without_the_tick_nothing_is_erased(owner: Any, her: Customer) -> None:
    as_owner(owner).post(reverse("customers:privacy_erase", args=[her.pk]), {})
    her.refresh_from_db()
    assert her.name == "林晓"


def test_her_own_request_lands_in_the_owners_to_do_list(owner: Any, her: Customer) -> None:
    assert do_request_data(her, kind="delete") is True
    task = FollowUpTask.objects.get(customer=her, title__contains="删除")
    assert task.assignee_id == owner.pk
