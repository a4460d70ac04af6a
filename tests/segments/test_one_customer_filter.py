"""One customer filter: the list, the API and a segment with the same condition give the same customers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.customers.models import Customer
from huitouke.segments.compiler import segment_customers
from huitouke.segments.customer_list import list_definition

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(org: Any, store1: Any, store2: Any, staff_a: Any, staff_b: Any) -> dict[str, Any]:
    """Customers with and without orders, of two owners and two stores, bought 3 to 90 days ago."""
    now = timezone.now()
    people: dict[str, Any] = {}
    for i, (owner, store, days) in enumerate(
        [
            (staff_a, store1, 3),
            (staff_a, store1, 40),
            (staff_b, store1, 90),
            (staff_a, store2, None),
            (None, store2, 40),
            (staff_b, store2, None),
        ]
    ):
        c = make_customer(org, name=f"顾客{i}", owner=owner, home_store=store)
        if days is not None:
            make_order(
                c, store, unit_price=str(100 * (i + 1)), placed_at=now - timedelta(days=days)
            )
        people[f"c{i}"] = c
    return people


def _local_days_since(c: Customer, tz: ZoneInfo) -> int | None:
    """Days since her last order, by the organisation's calendar, computed here from her orders."""
    last = c.orders.order_by("-placed_at").values_list("placed_at", flat=True).first()
    if last is None:
        return None
    return (timezone.now().astimezone(tz).date() - last.astimezone(tz).date()).days


CASES = [
    # (list/API parameters, the same condition as a segment, who matches — a Python predicate)
    (
        {"has_orders": "yes"},
        [{"field": "orders_count", "op": "gt", "value": 0}],
        lambda c, d, ctx: c.orders.exists(),
    ),
    (
        {"has_orders": "no"},
        [{"field": "orders_count", "op": "eq", "value": 0}],
        lambda c, d, ctx: not c.orders.exists(),
    ),
    (
        {"owner": "staff_a"},
        [{"field": "owner", "op": "in", "value": ["staff_a"]}],
        lambda c, d, ctx: c.owner_id == ctx["staff_a"].pk,
    ),
    (
        {"owner": "none"},
        [{"field": "owner", "op": "is_empty"}],
        lambda c, d, ctx: c.owner_id is None,
    ),
    (
        {"store": "store2"},
        [{"field": "store", "op": "in", "value": ["store2"]}],
        lambda c, d, ctx: c.home_store_id == ctx["store2"].pk,
    ),
    (
        {"days_min": 30, "days_max": 60},
        [{"field": "days_since_last_order", "op": "between", "value": [30, 60]}],
        lambda c, d, ctx: d is not None and 30 <= d <= 60,
    ),
    (
        {"owner": "staff_a", "has_orders": "yes"},
        [
            {"field": "owner", "op": "in", "value": ["staff_a"]},
            {"field": "orders_count", "op": "gt", "value": 0},
        ],
        lambda c, d, ctx: c.owner_id == ctx["staff_a"].pk and c.orders.exists(),
    ),
    (
        {"spend_min": "250"},
        [{"field": "net_spend", "op": "gte", "value": 250}],
        lambda c, d, ctx: c.stats.net_spend >= Decimal("250"),
    ),
]


def _resolve(value: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_resolve(v, ctx) for v in value]
    return ctx[value].pk if isinstance(value, str) and value in ctx else value


@pytest.mark.parametrize(("params", "conditions", "matches"), CASES)
def test_list_api_and_segment_agree(
    client: Any,
    owner: Any,
    org: Any,
    shop: dict[str, Any],
    staff_a: Any,
    store2: Any,
    params: dict[str, Any],
    conditions: list[dict[str, Any]],
    matches: Any,
) -> None:
    ctx = {"staff_a": staff_a, "store2": store2}
    params = {k: _resolve(v, ctx) for k, v in params.items()}
    conditions = [
        {**c, "value": _resolve(c["value"], ctx)} if "value" in c else c for c in conditions
    ]
    tz = ZoneInfo(org.time_zone)
    expected = {
        c.pk
        for c in Customer.objects.filter(organisation=org)
        if matches(c, _local_days_since(c, tz), ctx)
    }
    assert expected, "the case must match someone"
    assert expected != {c.pk for c in shop.values()}, "the case must leave someone out"

    client.force_login(owner)
    page = client.get(reverse("customers:list"), params)
    assert page.status_code == 200
    on_list = {c.pk for c in page.context["page"]}

    api_params = {k: v for k, v in params.items() if k in ("owner", "store", "has_orders")}
    if "has_orders" in api_params:
        api_params["has_orders"] = "true" if api_params["has_orders"] == "yes" else "false"
    definition = {"version": 1, "match": "all", "conditions": conditions}
    in_segment = set(segment_customers(definition, org, scope=owner).values_list("pk", flat=True))
    counted = client.post(
        "/api/v1/segments/count", {"definition": definition}, content_type="application/json"
    )
    assert counted.status_code == 200, counted.content

    assert on_list == in_segment == expected
    assert counted.json()["count"] == len(expected)
    if len(api_params) == len(params) and params.get("owner") != "none":
        # The API has the owner (an id), store and orders filters.
        api = client.get("/api/v1/customers", api_params)
        assert api.status_code == 200, api.content
        assert {row["id"] for row in api.json()["items"]} == expected


def test_the_list_filters_are_a_segment_definition() -> None:
    definition = list_definition({"owner": "none", "days_min": 30, "q": "ignored here"})
    assert definition["conditions"] == [
        {"field": "owner", "op": "is_empty"},
        {"field": "days_since_last_order", "op": "gte", "value": 30},
    ]


def test_the_list_stays_in_the_viewers_scope(
    client: Any, staff_a: Any, shop: dict[str, Any]
) -> None:
    client.force_login(staff_a)
    page = client.get(reverse("customers:list"), {"has_orders": "yes"})
    mine = {c.pk for c in shop.values() if c.owner_id == staff_a.pk and c.orders.exists()}
    assert {c.pk for c in page.context["page"]} == mine


def test_every_list_filter_at_once_answers(client: Any, owner: Any, store1: Any) -> None:
    client.force_login(owner)
    params = {
        "q": "zlm",
        "store": store1.pk,
        "owner": owner.pk,
        "has_orders": "yes",
        "lifecycle": "active",
        "reactivated": "yes",
        "rfm_segment": "champions",
        "value_class": "A",
        "days_min": 1,
        "days_max": 400,
        "spend_min": "10.5",
        "spend_max": "9999",
        "orders_min": 1,
        "orders_max": 9,
        "p_alive_max": 0.9,
        "clv_min": "1.25",
    }
    page = client.get(reverse("customers:list"), params)
    assert page.status_code == 200
    assert page.context["form"].is_valid(), page.context["form"].errors
    assert len(list_definition(page.context["form"].cleaned_data)["conditions"]) == 15
