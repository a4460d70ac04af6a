"""Every endpoint that takes an id answers 404 for objects outside the caller's scope, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import make_customer, make_order, make_product

from huitouke.customers.models import Customer, Interaction
from huitouke.sales.models import Category, Order, Product, Refund

pytestmark = pytest.mark.django_db

BY_ID = [
    ("get", "/customers/{customer}", None),
    ("patch", "/customers/{customer}", {"city": "上海"}),
    ("get", "/customers/{customer}/timeline", None),
    ("post", "/customers/{customer}/interactions", {"kind": "call", "note": "hi"}),
    ("get", "/orders/{order}", None),
    ("post", "/orders/{order}/refunds", {}),
    ("get", "/products/{product}", None),
    ("patch", "/products/{product}", {"price": "1.00"}),
    ("patch", "/categories/{category}", {"name": "改名"}),
]
CUSTOMER_OR_ORDER = [e for e in BY_ID if "{customer}" in e[1] or "{order}" in e[1]]


def fingerprint() -> tuple[Any, ...]:
    """Everything the endpoints above could change."""
    return (
        list(Customer.objects.order_by("pk").values_list("pk", "city", "updated_at")),
        list(Product.objects.order_by("pk").values_list("pk", "price")),
        list(Category.objects.order_by("pk").values_list("pk", "name")),
        list(Order.objects.order_by("pk").values_list("pk", "refunded_amount", "status")),
        Interaction.objects.count(),
        Refund.objects.count(),
    )


def call(api: Any, method: str, template: str, body: Any, ids: dict[str, int]) -> Any:
    path = template.format(**ids)
    return api.get(path) if method == "get" else getattr(api, method)(path, body)


def objects_of(customer: Customer, store: Any) -> dict[str, int]:
    category = Category.objects.create(organisation=customer.organisation, name=f"类{customer.pk}")
    product = make_product(customer.organisation, category=category)
    order = make_order(customer, store, product=product)
    return {
        "customer": customer.pk,
        "order": order.pk,
        "product": product.pk,
        "category": category.pk,
    }


@pytest.mark.parametrize(("method", "template", "body"), BY_ID)
def test_another_organisations_objects_do_not_exist(
    api_as: Any,
    owner: Any,
    other_org: Any,
    other_store: Any,
    other_owner: Any,
    method: str,
    template: str,
    body: Any,
) -> None:
    ids = objects_of(make_customer(other_org, actor=other_owner), other_store)
    before = fingerprint()
    response = call(api_as(owner), method, template, body, ids)
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
    assert fingerprint() == before


@pytest.mark.parametrize(("method", "template", "body"), CUSTOMER_OR_ORDER)
def test_staff_cannot_reach_a_colleagues_customers(
    api_as: Any,
    org: Any,
    store1: Any,
    staff_a: Any,
    staff_b: Any,
    method: str,
    template: str,
    body: Any,
) -> None:
    ids = objects_of(make_customer(org, owner=staff_b, home_store=store1), store1)
    before = fingerprint()
    assert call(api_as(staff_a), method, template, body, ids).status_code == 404
    assert fingerprint() == before
    # The same request from the customer's own staff member is not refused for scope.
    assert call(api_as(staff_b), method, template, body, ids).status_code != 404


@pytest.mark.parametrize(("method", "template", "body"), CUSTOMER_OR_ORDER)
def test_a_manager_cannot_reach_another_stores_customers(
    api_as: Any,
    org: Any,
    store2: Any,
    manager: Any,
    staff_c: Any,
    method: str,
    template: str,
    body: Any,
) -> None:
    ids = objects_of(make_customer(org, owner=staff_c, home_store=store2), store2)
    before = fingerprint()
    assert call(api_as(manager), method, template, body, ids).status_code == 404
    assert fingerprint() == before


def test_lists_show_only_what_is_in_scope(
    api_as: Any,
    org: Any,
    store1: Any,
    staff_a: Any,
    staff_b: Any,
    owner: Any,
    other_org: Any,
    other_store: Any,
) -> None:
    mine = objects_of(make_customer(org, owner=staff_a, home_store=store1), store1)
    colleague = objects_of(make_customer(org, owner=staff_b, home_store=store1), store1)
    foreign = objects_of(make_customer(other_org), other_store)

    def ids(api: Any, path: str) -> set[int]:
        data = api.get(path).json()
        return {row["id"] for row in (data["items"] if isinstance(data, dict) else data)}

    staff = api_as(staff_a)
    assert ids(staff, "/customers") == {mine["customer"]}
    assert ids(staff, "/orders") == {mine["order"]}
    assert ids(staff, f"/orders?customer={colleague['customer']}") == set()
    boss = api_as(owner)
    assert ids(boss, "/customers") == {mine["customer"], colleague["customer"]}
    assert ids(boss, "/orders") == {mine["order"], colleague["order"]}
    assert foreign["product"] not in ids(boss, "/products")
    assert foreign["category"] not in ids(boss, "/categories")


def test_references_in_a_body_must_be_in_scope_too(
    api_as: Any,
    org: Any,
    store1: Any,
    staff_a: Any,
    staff_b: Any,
    owner: Any,
    other_org: Any,
    other_store: Any,
    other_owner: Any,
) -> None:
    colleague = make_customer(org, owner=staff_b, home_store=store1)
    foreign = objects_of(make_customer(other_org), other_store)
    line = {"name": "剪发", "quantity": 1, "unit_price": "50"}
    before = fingerprint()
    refused = [
        (api_as(staff_a), "/orders", {"customer_id": colleague.pk, "lines": [line]}, "customer_id"),
        (
            api_as(owner),
            "/orders",
            {"lines": [{"product_id": foreign["product"], "quantity": 1}]},
            "lines",
        ),
        (api_as(owner), "/orders", {"store_id": other_store.pk, "lines": [line]}, "store_id"),
        (api_as(owner), "/orders", {"staff_id": other_owner.pk, "lines": [line]}, "staff_id"),
        (api_as(owner), "/customers", {"name": "新客", "owner_id": other_owner.pk}, "owner_id"),
        (
            api_as(owner),
            "/customers",
            {"name": "新客", "home_store_id": other_store.pk},
            "home_store_id",
        ),
        (
            api_as(owner),
            "/customers",
            {"name": "新客", "referrer_id": foreign["customer"]},
            "referrer_id",
        ),
        (
            api_as(owner),
            "/products",
            {"name": "新品", "category_id": foreign["category"]},
            "category_id",
        ),
    ]
    for api, path, body, field in refused:
        response = api.post(path, body)
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, field), (
            path,
            body,
        )
    assert fingerprint() == before
