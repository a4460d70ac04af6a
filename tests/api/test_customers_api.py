"""Customers through the API: create, list and search, read, edit, timeline, interactions, masking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.customers.models import Customer, Interaction, OwnershipChange

pytestmark = pytest.mark.django_db


def test_create_normalises_the_phone_and_sets_tags(api_as: Any, owner: Any, store1: Any) -> None:
    body = {
        "name": " 陈静 ",
        "phone": "138 1234 5678",
        "tags": ["VIP", "敏感肌", "VIP"],
        "gender": "f",
        "city": "杭州",
    }
    response = api_as(owner).post("/customers", body)
    assert response.status_code == 201
    data = response.json()
    assert (data["name"], data["phone"], data["phone_masked"]) == ("陈静", "+8613812345678", False)
    assert sorted(data["tags"]) == ["VIP", "敏感肌"]
    assert data["home_store_id"] == store1.pk
    assert data["stats"]["orders_count"] == 0
    customer = Customer.objects.get(pk=data["id"])
    assert (customer.phone, customer.gender, customer.city) == ("+8613812345678", "f", "杭州")


def test_staff_own_the_customers_they_create(api_as: Any, staff_a: Any) -> None:
    data = api_as(staff_a).post("/customers", {"name": "林晓"}).json()
    assert data["owner_id"] == staff_a.pk
    assert data["phone"] is None


def test_list_pages_newest_first_and_counts_all_matches(api_as: Any, org: Any, owner: Any) -> None:
    ids = [make_customer(org, name=f"客户{i}").pk for i in range(5)]
    page = api_as(owner).get("/customers", limit=2, offset=1).json()
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [c["id"] for c in page["items"]] == sorted(ids, reverse=True)[1:3]


def test_search_by_name_phone_and_tag(api_as: Any, org: Any, owner: Any) -> None:
    chen = make_customer(org, name="陈静", phone="13812345678", tags=["VIP"])
    wang = make_customer(org, name="王芳", phone="13987654321")
    api = api_as(owner)

    def found(**params: Any) -> list[int]:
        return [c["id"] for c in api.get("/customers", **params).json()["items"]]

    assert found(q="陈") == [chen.pk]
    assert found(q="138 1234 5678") == [chen.pk]
    assert found(q="4321") == [wang.pk]
    assert found(q="VIP") == [chen.pk]
    assert found(q="nobody") == []


def test_filters_by_owner_store_and_orders(
    api_as: Any, org: Any, owner: Any, staff_a: Any, staff_c: Any, store1: Any, store2: Any
) -> None:
    mine = make_customer(org, owner=staff_a, home_store=store1)
    other_store = make_customer(org, owner=staff_c, home_store=store2)
    buyer = make_customer(org, owner=staff_c, home_store=store2)
    make_order(buyer, store2)
    api = api_as(owner)

    def found(**params: Any) -> set[int]:
        return {c["id"] for c in api.get("/customers", **params).json()["items"]}

    assert found(owner=staff_a.pk) == {mine.pk}
    assert found(store=store2.pk) == {other_store.pk, buyer.pk}
    assert found(has_orders="true") == {buyer.pk}
    assert found(has_orders="false") == {mine.pk, other_store.pk}


def test_get_shows_profile_and_stats(api_as: Any, org: Any, owner: Any, store1: Any) -> None:
    customer = make_customer(org, name="陈静", birth_month=3, birth_day=8)
    make_order(customer, store1, unit_price="120.00", quantity=2)
    data = api_as(owner).get(f"/customers/{customer.pk}").json()
    assert (data["birth_month"], data["birth_day"]) == (3, 8)
    assert data["stats"]["orders_count"] == 1
    assert data["stats"]["net_spend"] == "240.00"


def test_patch_changes_only_the_fields_sent(api_as: Any, org: Any, owner: Any) -> None:
    customer = make_customer(org, name="陈静", city="杭州", tags=["VIP"])
    response = api_as(owner).patch(f"/customers/{customer.pk}", {"city": "上海", "tags": ["老客"]})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.city) == ("陈静", "上海")
    assert [t.name for t in customer.tags.all()] == ["老客"]


def test_the_owner_reassigning_a_customer_is_recorded(
    api_as: Any, org: Any, owner: Any, staff_a: Any, staff_b: Any
) -> None:
    customer = make_customer(org, owner=staff_a)
    response = api_as(owner).patch(f"/customers/{customer.pk}", {"owner_id": staff_b.pk})
    assert response.json()["owner_id"] == staff_b.pk
    change = OwnershipChange.objects.get(customer=customer)
    assert (change.from_owner, change.to_owner, change.changed_by) == (staff_a, staff_b, owner)


def test_staff_cannot_hand_a_customer_to_a_colleague(
    api_as: Any, org: Any, staff_a: Any, staff_b: Any
) -> None:
    customer = make_customer(org, owner=staff_a)
    response = api_as(staff_a).patch(f"/customers/{customer.pk}", {"owner_id": staff_b.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"
    customer.refresh_from_db()
    assert customer.owner == staff_a


def test_an_edit_that_would_hide_the_customer_is_rolled_back(
    api_as: Any, org: Any, manager: Any, staff_a: Any, store1: Any, store2: Any
) -> None:
    # The manager sees store 1's customers; moving one to store 2 would take her out of sight.
    customer = make_customer(org, owner=staff_a, home_store=store1, city="杭州")
    response = api_as(manager).patch(
        f"/customers/{customer.pk}", {"home_store_id": store2.pk, "city": "上海"}
    )
    assert response.status_code == 422
    customer.refresh_from_db()
    assert (customer.home_store, customer.city) == (store1, "杭州")


def test_add_interaction_and_read_the_timeline(
    api_as: Any, org: Any, staff_a: Any, store1: Any
) -> None:
    customer = make_customer(org, owner=staff_a)
    now = timezone.now()
    order = make_order(customer, store1, placed_at=now - timedelta(days=2))
    api = api_as(staff_a)
    created = api.post(
        f"/customers/{customer.pk}/interactions",
        {
            "kind": "call",
            "note": "问了面膜的用法",
            "occurred_at": (now - timedelta(days=1)).isoformat(),
        },
    )
    assert created.status_code == 201
    assert (created.json()["kind"], created.json()["staff_id"]) == ("call", staff_a.pk)
    api.post(f"/customers/{customer.pk}/interactions", {"kind": "review", "rating": 5})
    timeline = api.get(f"/customers/{customer.pk}/timeline").json()
    assert [e["type"] for e in timeline] == ["interaction", "interaction", "order"]
    assert timeline[1]["interaction"]["note"] == "问了面膜的用法"
    assert timeline[2]["order"]["id"] == order.pk
    assert timeline[2]["order"]["items"] == ["玻尿酸精华 × 1"]
    assert Interaction.objects.filter(customer=customer).count() == 2


@pytest.mark.parametrize(
    ("persona", "masked"), [("owner", False), ("staff_a", False), ("manager", True)]
)
def test_phones_are_masked_for_everyone_but_the_owner_and_her_staff(
    request: Any, api_as: Any, org: Any, staff_a: Any, store1: Any, persona: str, masked: bool
) -> None:
    customer = make_customer(org, owner=staff_a, home_store=store1, phone="13812345678")
    api = api_as(request.getfixturevalue(persona))
    expected = "138****5678" if masked else "+8613812345678"
    one = api.get(f"/customers/{customer.pk}").json()
    listed = api.get("/customers").json()["items"][0]
    for data in (one, listed):
        assert (data["phone"], data["phone_masked"]) == (expected, masked)
