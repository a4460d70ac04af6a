"""Issue 14 item 11: a PIPL erasure is a fact on the customer (erased_at), not an inference.

The time is set by the erasure, shown to the owner on her privacy page and on her orders, and
used to refuse a second erasure and a merge into (or of) an erased customer.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.models import Customer
from huitouke.customers.privacy import do_erase_customer

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_erasure_sets_erased_at_and_the_owner_sees_it(
    org: Any, store1: Any, owner: Any, manager: Any, other_owner: Any
) -> None:
    her = make_customer(org, name="林晓", phone="13912345678")
    order = make_order(her, store1, unit_price="88.00", actor=owner)
    assert her.erased_at is None
    before = timezone.now()
    response = as_user(owner).post(
        reverse("customers:privacy_erase", args=[her.pk]), {"confirm": "yes"}
    )
    assert response.status_code == 302
    her.refresh_from_db()
    assert her.erased_at is not None and before <= her.erased_at <= timezone.now()
    # Her privacy page now says when, with nothing left to download or erase.
    page = as_user(owner).get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="privacy-erased"' in text
    assert timezone.localtime(her.erased_at).strftime("%Y-%m-%d %H:%M") in text
    assert 'data-testid="privacy-erase"' not in text and "林晓" not in text
    # Her order stays, naming her as erased instead of linking to a page that is gone.
    order_page = as_user(owner).get(reverse("sales:order", args=[order.pk])).content.decode()
    assert 'data-testid="customer-erased"' in order_page
    assert reverse("customers:detail", args=[her.pk]) not in order_page
    # Nobody else sees the page, and nothing about her can be downloaded any more.
    assert as_user(manager).get(reverse("customers:privacy", args=[her.pk])).status_code == 403
    assert as_user(other_owner).get(reverse("customers:privacy", args=[her.pk])).status_code in (
        403,
        404,
    )
    assert as_user(owner).get(reverse("customers:privacy_export", args=[her.pk])).status_code == 404


def test_an_erased_customer_is_not_erased_twice_nor_merged(org: Any, owner: Any) -> None:
    her = make_customer(org, name="林晓", phone="13912345678")
    other = make_customer(org, name="陈静", phone="13912345679")
    do_erase_customer(her, actor=owner)
    her.refresh_from_db()
    first = her.erased_at
    with pytest.raises(PermissionDenied):
        do_erase_customer(her, actor=owner)
    her.refresh_from_db()
    assert her.erased_at == first
    for keep, duplicate in ((her, other), (other, her)):
        with pytest.raises(ValidationError):
            do_merge_customers(keep=keep, duplicate=duplicate, actor=owner)
    other.refresh_from_db()
    assert other.merged_into_id is None and other.phone == "+8613912345679"


def test_a_merged_customer_is_not_erased(org: Any, owner: Any) -> None:
    keep = make_customer(org, name="林晓")
    duplicate = make_customer(org, name="林晓 (重复)")
    do_merge_customers(keep=keep, duplicate=duplicate, actor=owner)
    with pytest.raises(PermissionDenied):
        do_erase_customer(Customer.objects.get(pk=duplicate.pk), actor=owner)
    assert Customer.objects.get(pk=duplicate.pk).erased_at is None
