"""The customer list loads only what its rows show, in a fixed number of queries, 20 a page.

segments.customer_list.list_rows defers every column a row does not show (the customer, her
stats and analytics rows are wide); a column the template reads but the query left out would
cost one more query per row, so the count is compared between a short and a long page, and
every shown value against the customer read back in full.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.helpers import make_customer, make_order, make_product

from huitouke.analytics.jobs import local_today, refresh_organisation
from huitouke.customers.models import Customer
from huitouke.customers.phones import mask_phone, national
from huitouke.segments.customer_list import PAGE_SIZE

pytestmark = pytest.mark.django_db


def _buyers(org, store1, staff_a, n: int, start: int = 0) -> list[Customer]:
    now = timezone.now()
    product = make_product(org, name=f"面霜{start}", price="288.00")
    people = []
    for i in range(start, start + n):
        customer = make_customer(
            org,
            name=f"顾客{i:02d}",
            home_store=store1,
            owner=staff_a if i % 2 else None,
            tags=[f"标签{i % 3}"],
        )
        make_order(customer, store1, product=product, placed_at=now - timedelta(days=10 + i))
        people.append(customer)
    return people


def _list_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/customers/")
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client, org, store1, owner, manager, staff_a
):
    _buyers(org, store1, staff_a, 2)
    refresh_organisation(org, local_today(org))
    short = {user.username: _list_queries(client, user) for user in (owner, manager, staff_a)}
    _buyers(org, store1, staff_a, 14, start=2)
    refresh_organisation(org, local_today(org))
    long = {user.username: _list_queries(client, user) for user in (owner, manager, staff_a)}
    assert long == short


def test_each_row_shows_what_the_full_customer_says(client, org, store1, owner, manager, staff_a):
    people = _buyers(org, store1, staff_a, 4)
    refresh_organisation(org, local_today(org))
    client.force_login(manager)  # sees the store's customers, their numbers masked
    html = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for customer in Customer.objects.filter(pk__in=[p.pk for p in people]).select_related(
        "stats", "analytics", "owner"
    ):
        assert customer.name in html
        assert mask_phone(customer.phone) in html and national(customer.phone) not in html
        assert f"¥{customer.stats.net_spend:,.2f}" in html
        assert customer.stats.last_order_at is not None
        local_day = timezone.localtime(customer.stats.last_order_at).date()
        assert local_day.isoformat() in html
        assert customer.analytics.get_lifecycle_display() in html
        for tag in customer.tags.all():
            assert tag.name in html
        if customer.owner is not None:
            assert str(customer.owner) in html
    client.force_login(owner)  # the owner sees every number in full
    html = client.get("/customers/").content.decode()
    assert all(national(p.phone) in html for p in people)


def test_a_page_holds_twenty_and_the_next_page_the_rest(client, org, store1, owner, staff_a):
    people = [make_customer(org, name=f"潜客{i:02d}", home_store=store1) for i in range(25)]
    client.force_login(owner)
    first = client.get("/customers/").content.decode()
    second = client.get("/customers/?page=2").content.decode()
    newest_first = sorted(people, key=lambda c: -c.pk)
    assert PAGE_SIZE == 20
    assert all(c.name in first for c in newest_first[:20])
    assert not any(c.name in first for c in newest_first[20:])
    assert all(c.name in second for c in newest_first[20:])
    assert not any(c.name in second for c in newest_first[:20])
