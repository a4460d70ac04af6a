"""The customer page's timeline pages merge every kind in time order; the card keeps the phone rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.followups.conftest import make_task
from tests.helpers import make_customer, make_order

from huitouke.customers.actions import do_add_interaction
from huitouke.messaging.models import Message
from huitouke.web.customer_page import TIMELINE_PAGE, timeline_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def her(org, store1, staff_a):
    customer = make_customer(
        org, name="陈静", gender="f", owner=staff_a, phone="13812341234", home_store=store1
    )
    now = timezone.now()
    expected = []  # (time, kind, pk), built here from what the test writes
    for i in range(9):
        at = now - timedelta(hours=5 * i + 1)
        expected.append((at, "order", make_order(customer, store1, placed_at=at).pk))
    for i in range(14):
        at = now - timedelta(hours=5 * i + 2)
        note = do_add_interaction(customer, actor=staff_a, kind="call", occurred_at=at)
        expected.append((at, "contact", note.pk))
    for i in range(6):
        at = now - timedelta(hours=5 * i + 3)
        message = Message.objects.create(
            organisation=org, customer=customer, channel="sms", body="hi", idempotency_key=f"k{i}"
        )
        Message.objects.filter(pk=message.pk).update(created_at=at)
        expected.append((at, "message", message.pk))
    for i in range(4):
        at = now - timedelta(hours=5 * i + 4)
        expected.append((at, "task", make_task(customer, staff_a, due_at=at).pk))
    expected.sort(reverse=True)
    return customer, expected


def test_each_page_of_the_merged_timeline_is_the_next_slice_in_time_order(her):
    customer, expected = her
    pages = -(-len(expected) // TIMELINE_PAGE)
    got = []
    for number in range(1, pages + 1):
        page = timeline_page(customer, "", number)
        assert page.count == len(expected) and page.num_pages == pages
        got += [(e.at, e.kind, e.obj.pk) for e in page.entries]
    assert got == expected
    contacts = [x for x in expected if x[1] == "contact"]
    page = timeline_page(customer, "contacts", 1)
    assert [(e.at, e.kind, e.obj.pk) for e in page.entries] == contacts
    # A page past the end shows the last one; an unknown filter shows everything.
    assert timeline_page(customer, "", 99).number == pages
    assert timeline_page(customer, "bogus", 1).count == len(expected)


def test_the_timeline_fragment_for_htmx_and_the_page_without_it(client, her, staff_a):
    customer, _expected = her
    client.force_login(staff_a)
    url = reverse("customers:detail", args=[customer.pk])
    fragment = client.get(url + "?partial=timeline&show=orders", HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html and html.count('data-kind="order"') == 9
    full = client.get(url + "?show=tasks").content.decode()
    assert "<html" in full and full.count('data-kind="task"') == 4
    assert 'data-testid="call-card"' in full


def test_a_manager_sees_the_mask_on_the_card_and_reveals_it(client, her, manager):
    customer, _expected = her
    client.force_login(manager)
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    card = html.split('data-testid="call-card"')[1].split("</section>")[0]
    assert "tel:+8613812341234" not in card and "13812341234" not in card
    assert reverse("customers:reveal_phone", args=[customer.pk]) in card
