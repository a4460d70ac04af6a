"""Categories and products are validated once, by sales.actions, on the screens and the API alike."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from huitouke.audit.models import AuditEntry
from huitouke.sales.models import Category, Product

pytestmark = pytest.mark.django_db


def audit(action: str) -> list[tuple[str, str, dict]]:
    return [
        (e.actor.username if e.actor else "", e.object_type, e.detail)
        for e in AuditEntry.objects.filter(action=action).select_related("actor")
    ]


def test_a_category_made_on_the_screen_is_audited_and_the_api_refuses_its_name(
    api_as, org, manager
):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)
    response = client.post(reverse("sales:category_create"), {"name": " 面膜 ", "cycle_days": 30})
    assert response.status_code == 302
    category = Category.objects.get(organisation=org)
    assert (category.name, category.cycle_days) == ("面膜", 30)
    assert audit("category_save") == [
        (manager.username, "category", {"created": True, "fields": ["cycle_days", "name"]})
    ]
    # The same rule, worded the same, on both sides.
    api = api_as(manager).post("/categories", {"name": "面膜"})
    assert api.json()["errors"] == [{"field": "name", "message": "“面膜” is already in use."}]
    page = client.post(reverse("sales:category_create"), {"name": "面膜"}).content.decode()
    assert "“面膜” is already in use." in page
    assert Category.objects.count() == 1


def test_product_phases_and_sku_are_checked_by_the_action(api_as, org, owner):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    base = {"name": "精华", "sku": "S-1", "price": "99", "cost": "30", "is_active": "on"}
    bad = client.post(
        reverse("sales:product_create"),
        {**base, "phase_use_from": 10, "phase_end_from": 5, "phase_dormant_from": 20},
    )
    assert bad.status_code == 200
    assert "in use &lt; running out &lt; dormant" in bad.content.decode()
    assert not Product.objects.exists()
    assert client.post(reverse("sales:product_create"), base).status_code == 302
    again = api_as(owner).post("/products", {"name": "另一个", "sku": "S-1"})
    assert again.json()["errors"] == [{"field": "sku", "message": "“S-1” is already in use."}]
    product = Product.objects.get()
    edit = client.post(reverse("sales:product_edit", args=[product.pk]), {**base, "price": "89"})
    assert edit.status_code == 302
    assert [(d["created"], d["fields"]) for _u, _t, d in audit("product_save")] == [
        (False, ["price"]),
        (True, ["cost", "name", "price", "sku"]),
    ]
