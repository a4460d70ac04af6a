"""Every screen renders for each role in both languages, and ids outside the user's scope answer 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from tests.helpers import PASSWORD, make_customer, make_order, make_product

from huitouke.audit.models import AuditEntry

PAGES = [
    "dashboard",
    "customers:list",
    "customers:create",
    "sales:quick_order",
    "sales:orders",
    "sales:products",
    "accounts:settings",
]


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
@pytest.mark.parametrize("persona", ["owner", "manager", "staff_a"])
def test_pages_render_for_every_role(client, request, persona, lang, store1, org):
    user = request.getfixturevalue(persona)
    login(client, user)
    customer = make_customer(org, actor=user, owner=user)
    order = make_order(customer, store1, actor=user)
    headers = {"HTTP_ACCEPT_LANGUAGE": lang}
    for name in PAGES:
        assert client.get(reverse(name), **headers).status_code == 200, name
    assert client.get(reverse("customers:detail", args=[customer.pk]), **headers).status_code == 200
    assert client.get(reverse("customers:edit", args=[customer.pk]), **headers).status_code == 200
    assert client.get(reverse("sales:order", args=[order.pk]), **headers).status_code == 200
    page = client.get(reverse("dashboard"), **headers).content.decode()
    assert ("今天" in page) if lang == "zh-hans" else ("Today" in page)


def test_owner_only_pages(client, owner, staff_a):
    login(client, owner)
    for name in [
        "audit:list",
        "customers:duplicates",
        "accounts:staff",
        "accounts:handover",
        "accounts:staff_create",
    ]:
        assert client.get(reverse(name)).status_code == 200, name
    client.logout()
    login(client, staff_a)
    for name in ["audit:list", "customers:duplicates", "accounts:staff"]:
        assert client.get(reverse(name)).status_code == 403, name


def test_another_staff_members_customer_is_404(
    client, org, store1, staff_a, staff_b, other_owner, other_org, other_store
):
    theirs = make_customer(org, owner=staff_b)
    foreign = make_customer(other_org, owner=other_owner)
    foreign_order = make_order(foreign, other_store)
    login(client, staff_a)
    for url in [
        reverse("customers:detail", args=[theirs.pk]),
        reverse("customers:edit", args=[theirs.pk]),
        reverse("customers:detail", args=[foreign.pk]),
        reverse("sales:order", args=[foreign_order.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("customers:add_interaction", args=[theirs.pk]), {"kind": "call"}
        ).status_code
        == 404
    )
    assert client.post(reverse("customers:reveal_phone", args=[theirs.pk])).status_code == 404


def test_owner_cannot_open_another_organisations_objects(
    client, owner, other_org, other_owner, other_store
):
    foreign = make_customer(other_org, owner=other_owner)
    order = make_order(foreign, other_store)
    product = make_product(other_org)
    login(client, owner)
    for url in [
        reverse("customers:detail", args=[foreign.pk]),
        reverse("sales:order", args=[order.pk]),
        reverse("sales:product_edit", args=[product.pk]),
        reverse("accounts:staff_edit", args=[other_owner.pk]),
        reverse("accounts:store_edit", args=[other_store.pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_phone_is_masked_for_a_manager_until_revealed_and_the_reveal_is_audited(
    client, org, manager, staff_a
):
    customer = make_customer(org, owner=staff_a, phone="13812341234", home_store=manager.store)
    login(client, manager)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "138****1234" in page and "13812341234" not in page
    revealed = client.post(reverse("customers:reveal_phone", args=[customer.pk])).content.decode()
    assert "13812341234" in revealed
    assert (
        AuditEntry.objects.filter(
            action="phone_reveal", actor=manager, object_id=str(customer.pk)
        ).count()
        == 1
    )


def test_login_is_audited_and_locks_after_repeated_failures(client, owner):
    for _ in range(5):
        client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429  # locked out even with the right password
    assert AuditEntry.objects.filter(action="login_failed").count() >= 5


def test_successful_login_is_audited(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="login", actor=owner).exists()


def test_owner_applies_an_industry_template_and_changes_thresholds(client, org, owner, staff_a):
    from huitouke.customers.models import CustomField

    client.force_login(owner)
    assert client.get(reverse("accounts:organisation")).status_code == 200
    client.post(reverse("accounts:organisation"), {"template": "apparel"})
    assert CustomField.objects.filter(organisation=org, key="top_size").exists()
    bad = client.post(
        reverse("accounts:organisation"),
        {
            "name": "X",
            "industry": "beauty",
            "time_zone": "Mars/Base",
            "silent_after_days": 90,
            "churned_after_days": 60,
            "rfm_lookback_days": 365,
            "rfm_high_low": "mean",
        },
    )
    assert "Mars/Base" in bad.content.decode()
    org.refresh_from_db()
    assert org.time_zone == "Asia/Shanghai"
    client.force_login(staff_a)
    assert client.get(reverse("accounts:organisation")).status_code == 403
