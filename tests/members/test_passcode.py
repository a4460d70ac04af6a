"""The member code at the till: signed, refused after 120 s or when tampered; the quick order
finds her by it within the user's scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from huitouke.customers.passcode import customer_for_pass, make_pass, read_pass
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db


def test_code_reads_back_until_120_seconds(org, staff_a):
    customer = make_customer(org, owner=staff_a)
    now = timezone.now().replace(microsecond=0)
    code = make_pass(customer, now=now)
    assert read_pass(code, org.pk, now=now) == customer.pk
    assert read_pass(code, org.pk, now=now + timedelta(seconds=120)) == customer.pk
    with pytest.raises(ValidationError) as exc:
        read_pass(code, org.pk, now=now + timedelta(seconds=121))
    assert "expired" in " ".join(exc.value.messages)


def test_tampered_code_is_refused(org, other_org, staff_a):
    customer = make_customer(org, owner=staff_a)
    now = timezone.now()
    code = make_pass(customer, now=now)
    for i in range(len(code)):
        digit = str((int(code[i]) + 1) % 10)
        tampered = code[:i] + digit + code[i + 1 :]
        with pytest.raises(ValidationError):
            read_pass(tampered, org.pk, now=now)
    with pytest.raises(ValidationError):
        read_pass(code, other_org.pk, now=now)  # another shop's till
    for junk in ("", "abc", "12345"):
        with pytest.raises(ValidationError):
            read_pass(junk, org.pk, now=now)


def test_code_changes_every_minute(org, staff_a):
    customer = make_customer(org, owner=staff_a)
    now = timezone.now()
    assert make_pass(customer, now=now) != make_pass(customer, now=now + timedelta(seconds=60))


def test_quick_order_scans_her_code_within_the_scope(client, org, staff_a, staff_b):
    mine = make_customer(org, owner=staff_a, name="我的会员")
    theirs = make_customer(org, owner=staff_b, name="别人的会员")
    assert customer_for_pass(staff_a, make_pass(mine)).pk == mine.pk
    with pytest.raises(ValidationError):
        customer_for_pass(staff_a, make_pass(theirs))
    client.force_login(staff_a)
    page = client.get(reverse("sales:quick_order"), {"member_code": make_pass(mine)})
    body = page.content.decode()
    assert page.status_code == 200 and "我的会员" in body
    assert f'value="{mine.pk}"' in body
    refused = client.get(reverse("sales:quick_order"), {"member_code": make_pass(theirs)})
    assert "别人的会员" not in refused.content.decode()
    assert "not one of the customers you look after" in refused.content.decode() or (
        "不是您负责的" in refused.content.decode()
    )
