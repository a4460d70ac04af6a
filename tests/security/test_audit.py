"""Issue 14 item 8: reads of personal data audited in bulk, changes per object with the fields
changed, every audit code labelled in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from tests.helpers import PASSWORD, make_customer

import huitouke
from huitouke.accounts.models import ApiToken, Role, User
from huitouke.accounts.tokens import create_api_token
from huitouke.audit.models import AuditAction, AuditEntry
from huitouke.customers.actions import do_update_customer

SRC = Path(huitouke.__file__).parent
CALL = re.compile(r"record_audit\((?:[^()]|\([^()]*\))*?\baction=(f?)\"([^\"]+)\"", re.S)


def codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in SRC.rglob("*.py"):
        for is_f, code in CALL.findall(path.read_text(encoding="utf-8")):
            if is_f:
                # f"data_request_{kind}": the kinds the sender accepts.
                from huitouke.members.actions import DATA_REQUEST_TITLES

                assert code == "data_request_{kind}", (path, code)
                codes |= {f"data_request_{k}" for k in DATA_REQUEST_TITLES}
            else:
                codes.add(code)
    return codes


def test_every_audit_code_in_the_code_base_has_a_label_in_both_languages() -> None:
    codes = codes_in_source()
    assert {"login", "export", "phone_reveal", "token_revoked", "customer_edit"} <= codes
    assert codes - set(AuditAction.values) == set()
    for code in AuditAction.values:
        english = str(AuditAction(code).label)
        with translation.override("zh-hans"):
            chinese = str(AuditAction(code).label)
        assert english != code and chinese != english, code
        assert re.search(r"[\u4e00-\u9fff]", chinese), (code, chinese)


def test_the_audit_page_shows_labels(owner: Any, manager: Any) -> None:
    client = Client()
    client.force_login(owner)
    client.post(
        reverse("accounts:staff_edit", args=[manager.pk]),
        {**staff_data(manager), "role": Role.STAFF},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    body = client.get(reverse("audit:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    with translation.override("zh-hans"):
        assert str(AuditAction.STAFF_EDIT.label) in body


def api(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, 't', actor=user)}"}


@pytest.mark.django_db
def test_api_reads_of_customers_are_audited_once_per_request_with_the_count(
    org: Any, store1: Any, owner: Any, manager: Any, staff_a: Any
) -> None:
    for i in range(7):
        make_customer(org, name=f"客{i}", home_store=store1, owner=staff_a)
    headers = api(owner)
    body = json.loads(Client().get("/api/v1/customers?limit=5", **headers).content)
    assert len(body["items"]) == 5
    entry = AuditEntry.objects.get(action="customers_read")
    assert entry.actor_id == owner.pk
    assert entry.detail == {"count": 5, "full_phones": 5, "via": "api list"}

    one = body["items"][0]["id"]
    Client().get(f"/api/v1/customers/{one}", **api(manager))
    detail = AuditEntry.objects.filter(action="customers_read").latest("id")
    assert (detail.actor_id, detail.object_id) == (manager.pk, str(one))
    assert detail.detail == {"count": 1, "full_phones": 0, "via": "api detail"}
    # An empty page reads nobody: no entry.
    Client().get("/api/v1/customers?q=nobody-here", **headers)
    assert AuditEntry.objects.filter(action="customers_read").count() == 2


def staff_data(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone or "",
        "role": user.role,
        "store": user.store_id,
        "is_active": "on" if user.is_active else "",
    }


@pytest.mark.django_db
def test_staff_role_changes_deactivation_and_password_resets_are_audited(
    owner: Any, staff_a: Any, store2: Any
) -> None:
    client = Client()
    client.force_login(owner)
    url = reverse("accounts:staff_edit", args=[staff_a.pk])
    data = {**staff_data(staff_a), "role": Role.MANAGER, "store": store2.pk}
    assert client.post(url, data).status_code == 302
    entry = AuditEntry.objects.get(action="staff_edit")
    assert entry.actor_id == owner.pk and entry.object_id == str(staff_a.pk)
    assert entry.detail["changes"] == {
        "role": ["staff", "manager"],
        "store": [staff_a.store_id, store2.pk],
    }
    data["is_active"] = ""
    client.post(url, data)
    last = AuditEntry.objects.filter(action="staff_edit").latest("id")
    assert last.detail["changes"] == {"is_active": [True, False]}
    assert not AuditEntry.objects.filter(action="staff_password_reset").exists()

    data.update(is_active="on", password="a-new-one-for-xiaomei-77")
    client.post(url, data)
    reset = AuditEntry.objects.get(action="staff_password_reset")
    assert reset.object_id == str(staff_a.pk) and "a-new-one" not in json.dumps(reset.detail)
    staff_a.refresh_from_db()
    assert staff_a.check_password("a-new-one-for-xiaomei-77")
    assert not staff_a.check_password(PASSWORD)
    # Saving unchanged writes nothing.
    count = AuditEntry.objects.count()
    data.pop("password")
    client.post(url, data)
    assert AuditEntry.objects.count() == count


@pytest.mark.django_db
def test_a_manager_cannot_reset_a_password(manager: Any, staff_a: Any) -> None:
    client = Client()
    client.force_login(manager)
    url = reverse("accounts:staff_edit", args=[staff_a.pk])
    response = client.post(url, {**staff_data(staff_a), "password": "a-new-one-for-xiaomei-77"})
    assert response.status_code == 403
    staff_a.refresh_from_db()
    assert staff_a.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="staff_password_reset").exists()


@pytest.mark.django_db
def test_store_edits_and_token_deletion_are_audited(owner: Any, store1: Any) -> None:
    client = Client()
    client.force_login(owner)
    client.post(
        reverse("accounts:store_edit", args=[store1.pk]),
        {"name": "万达广场店", "address": "", "phone": "", "sms_signature": store1.sms_signature},
    )
    entry = AuditEntry.objects.get(action="store_edit")
    assert entry.detail["changes"] == {"name": ["万达店", "万达广场店"]}

    create_api_token(owner, "脚本", actor=owner)
    token = ApiToken.objects.get(user=owner)
    client.post(reverse("accounts:token_delete", args=[token.pk]))
    revoked = AuditEntry.objects.get(action="token_revoked")
    assert revoked.object_id == str(token.pk) and revoked.actor_id == owner.pk


@pytest.mark.django_db
def test_customer_edits_record_the_fields_changed_old_to_new(
    org: Any, store1: Any, store2: Any, owner: Any, staff_a: Any, staff_c: Any
) -> None:
    her = make_customer(
        org, name="林晓", phone="13912345678", home_store=store1, owner=staff_a, city="上海"
    )
    do_update_customer(
        her,
        actor=owner,
        name="林晓晓",
        phone="13987654321",
        city="上海",
        owner=staff_c,
        home_store=store2,
        tags=["VIP"],
    )
    entry = AuditEntry.objects.get(action="customer_edit", object_id=str(her.pk))
    assert entry.actor_id == owner.pk
    assert entry.detail["changes"] == {
        "name": ["林晓", "林晓晓"],
        "phone": ["139****5678", "139****4321"],
        "owner": [staff_a.pk, staff_c.pk],
        "home_store": [store1.pk, store2.pk],
        "tags": [[], ["VIP"]],
    }
    # The same values again change nothing and write nothing.
    do_update_customer(her, actor=owner, name="林晓晓", city="上海")
    assert AuditEntry.objects.filter(action="customer_edit").count() == 1
