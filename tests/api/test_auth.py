"""Who may call the API: bearer tokens, the UI session with CSRF, and `huitouke createtoken`."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from tests.helpers import make_user

from huitouke.accounts.models import ApiToken
from huitouke.accounts.tokens import create_api_token
from huitouke.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def me(token: str | None = None, client: Client | None = None) -> Any:
    headers = {"Accept-Language": "en"}
    if token is not None:
        headers["Authorization"] = token
    return (client or Client()).get("/api/v1/me", headers=headers)


def test_a_token_identifies_its_user(owner: Any) -> None:
    raw = create_api_token(owner, "shop", actor=owner)
    response = me(f"Bearer {raw}")
    assert response.status_code == 200
    body = response.json()
    assert (
        body["username"],
        body["role"],
        body["organisation"]["name"],
        body["store"]["name"],
    ) == (
        "owner",
        "owner",
        "Rose Beauty",
        "万达店",
    )


def test_only_the_hash_of_a_token_is_stored_and_its_creation_is_audited(owner: Any) -> None:
    raw = create_api_token(owner, "shop", actor=owner)
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.key_hash, token.prefix, token.name)
    assert raw.startswith(token.prefix)
    entry = AuditEntry.objects.get(action="token_created")
    assert (entry.actor, entry.organisation, entry.object_id) == (
        owner,
        owner.organisation,
        str(token.pk),
    )


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer nonsense",
        "Token {raw}",
        "Basic b3duZXI6cGFzc3dvcmQ=",
        "Bearer {raw}x",
    ],
)
def test_missing_or_bad_credentials_answer_401(owner: Any, header: str | None) -> None:
    raw = create_api_token(owner, "shop", actor=owner)
    response = me(header.format(raw=raw) if header is not None else None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"]


def test_a_deactivated_users_token_stops_working(staff_a: Any) -> None:
    raw = create_api_token(staff_a, "phone", actor=staff_a)
    staff_a.is_active = False
    staff_a.save()
    assert me(f"Bearer {raw}").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(owner: Any) -> None:
    raw = create_api_token(owner, "shop", actor=owner)
    me(f"Bearer {raw}")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    me(f"Bearer {raw}")
    assert ApiToken.objects.get().last_used_at == first
    earlier = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.update(last_used_at=earlier)
    me(f"Bearer {raw}")
    assert ApiToken.objects.get().last_used_at > earlier + timedelta(minutes=1)


def test_the_signed_in_ui_user_needs_no_token(staff_a: Any) -> None:
    client = Client()
    client.force_login(staff_a)
    assert me(client=client).json()["username"] == "staff_a"


def test_session_writes_need_the_csrf_token(staff_a: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_a)
    body = {"name": "陈静"}
    refused = client.post(
        "/api/v1/customers",
        body,
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        "/api/v1/customers", body, content_type="application/json", headers={"X-CSRFToken": secret}
    )
    assert accepted.status_code == 201
    assert accepted.json()["owner_id"] == staff_a.pk


def test_a_post_without_any_credentials_is_401_not_a_csrf_error(db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/customers", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_an_account_outside_any_organisation_is_refused(db: Any) -> None:
    loner = make_user("loner", None, "staff")
    raw = create_api_token(loner, "x", actor=loner)
    response = Client().get(
        "/api/v1/customers", headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"}
    )
    assert response.status_code == 403
    assert "organisation" in response.json()["detail"]


def test_createtoken_prints_a_working_token(owner: Any) -> None:
    out = StringIO()
    call_command("createtoken", "owner", "--name", "zapier", stdout=out)
    raw = out.getvalue().strip()
    assert me(f"Bearer {raw}").json()["username"] == "owner"
    assert ApiToken.objects.get().name == "zapier"


def test_createtoken_names_an_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="nobody"):
        call_command("createtoken", "nobody")
