"""Categories and products through the API: owners and managers edit, everyone reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.helpers import make_product

from huitouke.sales.models import Category, Product

pytestmark = pytest.mark.django_db


def test_create_list_and_edit_categories(api_as: Any, manager: Any, staff_a: Any) -> None:
    api = api_as(manager)
    created = api.post("/categories", {"name": "面膜", "cycle_days": 30})
    assert created.status_code == 201
    api.post("/categories", {"name": "精华"})
    assert [c["name"] for c in api_as(staff_a).get("/categories").json()] == ["精华", "面膜"]
    changed = api.patch(f"/categories/{created.json()['id']}", {"cycle_days": 45})
    assert (changed.json()["name"], changed.json()["cycle_days"]) == ("面膜", 45)


def test_a_category_name_is_used_once(api_as: Any, org: Any, owner: Any) -> None:
    Category.objects.create(organisation=org, name="面膜")
    response = api_as(owner).post("/categories", {"name": "面膜"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "name", "message": "“面膜” is already in use."}]
    assert Category.objects.count() == 1


def test_create_get_and_edit_a_product(api_as: Any, org: Any, owner: Any) -> None:
    category = Category.objects.create(organisation=org, name="精华", cycle_days=60)
    api = api_as(owner)
    body = {
        "name": "玻尿酸精华",
        "sku": "HA-30",
        "category_id": category.pk,
        "price": "199",
        "cost": "60.5",
    }
    created = api.post("/products", body)
    assert created.status_code == 201
    pk = created.json()["id"]
    assert api.get(f"/products/{pk}").json() == {
        "id": pk,
        "sku": "HA-30",
        "name": "玻尿酸精华",
        "category_id": category.pk,
        "price": "199.00",
        "cost": "60.50",
        "use_cycle_days": None,
        "is_active": True,
    }
    api.patch(f"/products/{pk}", {"price": "189.00", "is_active": False})
    product = Product.objects.get(pk=pk)
    assert (product.price, product.is_active, product.sku) == (Decimal("189.00"), False, "HA-30")


def test_list_products_by_text_category_and_sale_status(
    api_as: Any, org: Any, staff_a: Any
) -> None:
    masks = Category.objects.create(organisation=org, name="面膜")
    hydrating = make_product(org, name="补水面膜", category=masks)
    make_product(org, name="修护面膜", category=masks, is_active=False)
    serum = make_product(org, name="精华", sku="S-1")
    api = api_as(staff_a)

    def found(**params: Any) -> list[int]:
        return [p["id"] for p in api.get("/products", **params).json()["items"]]

    assert found(category=masks.pk, is_active="true") == [hydrating.pk]
    assert found(q="S-1") == [serum.pk]
    assert api.get("/products").json()["count"] == 3


def test_staff_read_products_without_costs_and_cannot_edit(
    api_as: Any, org: Any, staff_a: Any
) -> None:
    product = make_product(org, price="100.00", cost="40.00")
    api = api_as(staff_a)
    assert api.get(f"/products/{product.pk}").json()["cost"] is None
    assert api.patch(f"/products/{product.pk}", {"price": "1.00"}).status_code == 403
    assert api.post("/products", {"name": "x"}).status_code == 403
    assert api.post("/categories", {"name": "x"}).status_code == 403
    product.refresh_from_db()
    assert product.price == Decimal("100.00")
    assert Product.objects.count() == 1


def test_sku_is_unique_and_category_must_exist(api_as: Any, org: Any, owner: Any) -> None:
    make_product(org, sku="HA-30")
    api = api_as(owner)
    duplicate = api.post("/products", {"name": "另一个", "sku": "HA-30"})
    assert (duplicate.status_code, duplicate.json()["errors"][0]["field"]) == (422, "sku")
    unknown = api.post("/products", {"name": "另一个", "category_id": 999_999})
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "category_id")
    # Products without a SKU do not clash with each other.
    assert api.post("/products", {"name": "散装"}).status_code == 201
    assert api.post("/products", {"name": "散装二"}).status_code == 201
    assert Product.objects.count() == 3
