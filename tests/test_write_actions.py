"""The writes moved out of screens and commands (issue 13): each is an action with its audit entry.

Categories and products: tests/api/test_catalogue_actions.py.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from huitouke.accounts.models import Role, User
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import FamilyMember
from huitouke.segments.models import Segment
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db


def audit(action: str) -> list[tuple[str, str, dict]]:
    return [
        (e.actor.username if e.actor else "", e.object_type, e.detail)
        for e in AuditEntry.objects.filter(action=action).select_related("actor")
    ]


def test_deleting_a_segment_is_audited(client, org, owner):
    segment = Segment.objects.create(
        organisation=org, name="VIP", definition={"version": 1, "conditions": []}
    )
    client.force_login(owner)
    assert client.post(reverse("segments:delete", args=[segment.pk])).status_code == 302
    assert not Segment.objects.exists()
    assert audit("segment_delete") == [(owner.username, "segment", {"name": "VIP"})]


def test_a_family_member_added_is_audited(client, org, owner):
    customer = make_customer(org)
    client.force_login(owner)
    client.post(
        reverse("customers:add_family", args=[customer.pk]),
        {"relation": "child", "name": "小明", "birthday_kind": "solar"},
    )
    member = FamilyMember.objects.get(customer=customer)
    assert member.name == "小明"
    assert audit("family_member_add") == [
        (owner.username, "customer", {"family_member": member.pk})
    ]


def test_shop_settings_saved_once_with_their_audit(client, org, owner):
    client.force_login(owner)
    form = {
        "name": "新店名",
        "industry": org.industry,
        "time_zone": org.time_zone,
        "silent_after_days": org.silent_after_days,
        "churned_after_days": org.churned_after_days,
        "rfm_lookback_days": org.rfm_lookback_days,
        "rfm_high_low": org.rfm_high_low,
    }
    assert client.post(reverse("accounts:organisation"), form).status_code == 302
    org.refresh_from_db()
    assert org.name == "新店名"
    assert audit("settings") == [(owner.username, "organisation", {"fields": ["name"]})]


def test_createowner_makes_an_audited_owner_and_refuses_a_weak_password(db):
    call_command("createowner", "boss", password="a-long-enough-pass-42", org="甲店", store="一店")
    boss = User.objects.get(username="boss")
    assert (boss.role, boss.organisation.name, boss.store.name) == (Role.OWNER, "甲店", "一店")
    assert boss.check_password("a-long-enough-pass-42")
    assert audit("owner_create") == [("", "user", {"store": boss.store_id})]
    with pytest.raises(CommandError):
        call_command("createowner", "boss2", password="123", org="甲店")
    assert not User.objects.filter(username="boss2").exists()
    assert len(audit("owner_create")) == 1
