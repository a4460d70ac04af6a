"""Webhook URLs reach only public addresses: refused when saved and again when connecting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from huitouke.integrations.models import WebhookDelivery, WebhookEndpoint
from huitouke.integrations.ssrf import check_url
from huitouke.integrations.webhooks import do_create_endpoint, send_due
from tests.helpers import make_customer
from tests.integrations.receiver import Receiver, running_receiver


@pytest.fixture
def blocking(settings: Any) -> None:
    # What a deployment runs with (the other tests allow their 127.0.0.1 receiver).
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    HUEY.immediate = True
    with running_receiver() as receiver:
        yield receiver
    HUEY.immediate = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://172.16.0.9/hooks",
        "https://192.168.1.20/hooks",
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://[::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
        "http://100.64.0.1/hooks",  # carrier-grade NAT
        "ftp://93.184.216.34/hooks",
    ],
)
def test_local_and_private_addresses_are_refused(blocking: None, url: str) -> None:
    with pytest.raises(ValidationError):
        check_url(url)


def test_a_public_address_is_accepted(blocking: None) -> None:
    check_url("https://93.184.216.34/hooks")
    check_url("http://[2606:2800:220:1:248:1893:25c8:1946]/hooks")


def test_an_allowed_network_opens_the_door_for_it_only(blocking: None, settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["192.168.1.0/24"]
    check_url("http://192.168.1.20/till")
    with pytest.raises(ValidationError):
        check_url("http://192.168.2.20/till")


@pytest.mark.django_db
def test_the_settings_page_says_why_a_url_is_refused(
    blocking: None, org: Any, owner: Any, client: Client
) -> None:
    client.force_login(owner)
    response = client.post(
        reverse("integrations:webhooks"),
        {"url": "http://127.0.0.1:9/hooks", "events": ["order.paid"]},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "local or private address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_to_an_address_that_became_private_is_not_sent(
    org: Any, owner: Any, receiver: Receiver, settings: Any
) -> None:
    # Saved while allowed (as a name that resolved to a public address would be), then blocked:
    # the address connected to is checked on every delivery, so nothing reaches the receiver.
    _endpoint, receiver.secret = do_create_endpoint(
        organisation=org, url=receiver.url, events=["customer.created"], actor=owner
    )
    settings.WEBHOOK_ALLOW_PRIVATE = False
    make_customer(org, actor=owner)
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "blocked address 127.0.0.1" in delivery.last_error
    # Allowed again (say the owner listed the till's network), the retry goes through.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert send_due(now=timezone.now() + timedelta(minutes=1))["delivered"] == 1
    assert [r["verified"] for r in receiver.received] == [True]
