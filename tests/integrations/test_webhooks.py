"""Webhooks to a real local receiver: signed, sent after commit only, retried, switched off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from huitouke.integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from huitouke.integrations.webhooks import (
    do_create_endpoint,
    do_replay_delivery,
    do_update_endpoint,
    send_due,
)
from huitouke.sales.actions import LineInput, do_record_order
from tests.helpers import make_customer
from tests.integrations.receiver import Receiver, running_receiver

# The job queued after commit runs right there, as a worker would run it a moment later.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("huey_immediate")]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


def _endpoint(org: Any, owner: Any, receiver: Receiver, events: list[str]) -> WebhookEndpoint:
    endpoint, secret = do_create_endpoint(
        organisation=org, url=receiver.url, events=events, actor=owner
    )
    receiver.secret = secret
    return endpoint


def _sale(org: Any, store: Any, customer: Any) -> Any:
    return do_record_order(
        organisation=org,
        store=store,
        customer=customer,
        actor=None,
        lines=[LineInput(quantity=1, name="精华", unit_price=Decimal("128.00"))],
    )


def test_a_paid_order_is_delivered_signed_after_commit(
    org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    endpoint = _endpoint(org, owner, receiver, ["order.paid", "customer.created"])
    assert endpoint.secret.startswith("fernet:") and receiver.secret not in endpoint.secret
    customer = make_customer(org, actor=owner, name="陈静", phone="13812345678")
    order = _sale(org, store1, customer)
    assert [r["verified"] for r in receiver.received] == [True, True]
    created, paid = (r["payload"] for r in receiver.received)
    assert created["type"] == "customer.created"
    assert created["data"] == {"customer_id": customer.pk, "external_id": ""}
    assert paid["type"] == "order.paid"
    assert paid["data"]["order_id"] == order.pk and paid["data"]["net_paid"] == "128.00"
    # Minimal payloads: no name or phone of the customer travels.
    assert "陈静" not in str(receiver.received) and "13812345678" not in str(receiver.received)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2


def test_a_rolled_back_write_sends_nothing(
    org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    _endpoint(org, owner, receiver, ["order.paid", "points.changed"])
    customer = make_customer(org, actor=owner)
    with pytest.raises(RuntimeError), transaction.atomic():
        _sale(org, store1, customer)
        raise RuntimeError("the till cancelled")
    send_due(now=timezone.now() + timedelta(days=1))
    assert receiver.received == []
    assert WebhookDelivery.objects.count() == 0


def test_failures_are_retried_with_back_off_until_delivered(
    org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    _endpoint(org, owner, receiver, ["order.paid"])
    receiver.statuses = [500, 500]
    _sale(org, store1, None)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    # Not due yet: the back-off holds it.
    assert send_due() == {"delivered": 0, "retry": 0, "failed": 0}
    assert send_due(now=timezone.now() + timedelta(seconds=11))["retry"] == 1
    assert send_due(now=timezone.now() + timedelta(minutes=2))["delivered"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert len(receiver.received) == 3
    assert all(r["verified"] for r in receiver.received)
    assert len({r["id"] for r in receiver.received}) == 1  # one webhook-id: receivers dedupe


def test_an_endpoint_that_keeps_failing_is_switched_off_and_the_owner_told(
    org: Any, store1: Any, owner: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER = 3
    owner.email = "boss@example.com"
    owner.save()
    endpoint = _endpoint(org, owner, receiver, ["order.paid"])
    receiver.statuses = [500] * 10
    _sale(org, store1, None)
    later = timezone.now()
    for minutes in (1, 10):
        later += timedelta(minutes=minutes)
        send_due(now=later)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "3 failures" in endpoint.disabled_reason
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    # Switched off: new events are not queued for it, and its retries wait.
    _sale(org, store1, None)
    assert WebhookDelivery.objects.count() == 1
    seen = len(receiver.received)
    send_due(now=later + timedelta(hours=1))
    assert len(receiver.received) == seen
    # Fixed and switched on again, the failed delivery is replayed from the log.
    receiver.statuses = []
    do_update_endpoint(endpoint, events=["order.paid"], is_active=True, actor=owner)
    do_replay_delivery(WebhookDelivery.objects.get(), actor=owner)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    assert receiver.received[-1]["verified"]


def test_a_wrong_secret_does_not_verify(
    org: Any, store1: Any, owner: Any, receiver: Receiver
) -> None:
    _endpoint(org, owner, receiver, ["order.paid"])
    receiver.secret = "whsec_" + "QUFB" * 11
    _sale(org, store1, None)
    assert [r["verified"] for r in receiver.received] == [False]


def test_consent_changes_are_events_of_their_own(org: Any, owner: Any, receiver: Receiver) -> None:
    from huitouke.customers.actions import do_update_customer

    _endpoint(org, owner, receiver, ["consent.changed"])
    customer = make_customer(org, actor=owner)
    do_update_customer(customer, actor=owner, notes="喜欢玫瑰香")
    assert receiver.received == []
    do_update_customer(customer, actor=owner, consent_sms=False)
    (got,) = receiver.received
    assert got["verified"] and got["payload"]["data"] == {
        "customer_id": customer.pk,
        "sms": False,
        "email": True,
        "wechat": True,
    }
