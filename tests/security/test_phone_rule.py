"""Issue 14 item 4: one rule for who sees a full phone number, every reveal audited.

The owner and the staff member a customer belongs to see her number; a manager of her store sees
the mask everywhere (pages, the edit form's input, the coupon form, the API, exports) until she
presses "Show", which writes a phone_reveal audit entry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from tests.helpers import make_customer

from huitouke.accounts.tokens import create_api_token
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer

pytestmark = pytest.mark.django_db

NUMBER = "13912345678"
MASK = "139****5678"


@pytest.fixture
def her(org: Any, store1: Any, staff_a: Any) -> Customer:
    return make_customer(org, name="林晓", phone=NUMBER, home_store=store1, owner=staff_a)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reveals(customer: Customer) -> int:
    return AuditEntry.objects.filter(action="phone_reveal", object_id=str(customer.pk)).count()


PAGES = [
    ("customers:detail", True),
    ("customers:edit", True),
    ("loyalty:issue", False),
]


def page_url(name: str, customer: Customer) -> str:
    if name == "loyalty:issue":
        return reverse(name) + f"?customer={customer.pk}"
    return reverse(name, args=[customer.pk])


@pytest.mark.parametrize("name", [p[0] for p in PAGES])
def test_a_manager_sees_only_the_mask_without_a_reveal(
    name: str, manager: Any, her: Customer
) -> None:
    response = as_user(manager).get(page_url(name, her))
    assert response.status_code == 200
    body = response.content.decode()
    assert NUMBER not in body
    assert MASK in body
    assert reveals(her) == 0


@pytest.mark.parametrize("name", [p[0] for p in PAGES])
def test_the_owner_and_her_staff_see_the_number(
    name: str, owner: Any, staff_a: Any, her: Customer
) -> None:
    for user in (owner, staff_a):
        if name == "loyalty:issue" and user is staff_a:
            continue  # staff do not issue coupons
        body = as_user(user).get(page_url(name, her)).content.decode()
        assert NUMBER in body, (name, user.username)


def test_the_reveal_is_the_way_and_is_audited(manager: Any, her: Customer) -> None:
    response = as_user(manager).post(reverse("customers:reveal_phone", args=[her.pk]))
    assert response.status_code == 200
    assert NUMBER in response.content.decode()
    entry = AuditEntry.objects.get(action="phone_reveal", object_id=str(her.pk))
    assert entry.actor_id == manager.pk


def test_saving_the_edit_form_with_the_mask_keeps_the_number(manager: Any, her: Customer) -> None:
    client = as_user(manager)
    form = client.get(reverse("customers:edit", args=[her.pk])).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "owner"}
    data.update(
        {
            "name": "林晓晓",
            "phone": MASK,
            "owner": her.owner_id,
            "home_store": her.home_store_id,
            "gender": her.gender,
            "birthday_kind": her.birthday_kind,
            "tags_text": "",
        }
    )
    for key in ("consent_sms", "consent_email", "consent_wechat", "birth_leap_month"):
        if not data.get(key):
            data.pop(key, None)
    response = client.post(reverse("customers:edit", args=[her.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    her.refresh_from_db()
    assert her.name == "林晓晓"
    assert her.phone == "+86" + NUMBER


def test_the_coupon_form_issues_to_the_preset_customer(
    org: Any, manager: Any, her: Customer
) -> None:
    from tests.loyalty.test_coupons import make_template

    from huitouke.loyalty.models import Coupon

    template = make_template(org)
    url = reverse("loyalty:issue") + f"?customer={her.pk}"
    response = as_user(manager).post(url, {"template": template.pk, "customer": her.pk})
    assert response.status_code == 302
    assert Coupon.objects.filter(customer=her, template=template).count() == 1


def test_the_api_masks_for_a_manager_and_not_for_the_owner(
    owner: Any, manager: Any, her: Customer
) -> None:
    for user, shown, masked in ((manager, MASK, True), (owner, "+86" + NUMBER, False)):
        raw = create_api_token(user, "t", actor=user)
        response = Client().get(f"/api/v1/customers/{her.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200, response.content
        body = json.loads(response.content)
        assert (body["phone"], body["phone_masked"]) == (shown, masked)
