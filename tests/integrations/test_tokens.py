"""Token scopes, expiry and revocation; creation and daily use audited; the settings screens."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from huitouke.accounts.models import ApiToken
from huitouke.accounts.tokens import create_api_token, revoke_api_token
from huitouke.audit.models import AuditEntry
from huitouke.integrations.models import WebhookEndpoint
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db


def _call(raw: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}
    if method == "get":
        return Client().get("/api/v1" + path, headers=headers)
    return getattr(Client(), method)(
        "/api/v1" + path, json.dumps(body or {}), content_type="application/json", headers=headers
    )


def _sale(store: Any) -> dict[str, Any]:
    return {"store_id": store.pk, "lines": [{"name": "卡", "quantity": 1, "unit_price": "10"}]}


def test_a_read_only_token_only_reads(manager: Any, store1: Any) -> None:
    raw = create_api_token(manager, "bi", actor=manager, scope="read")
    assert _call(raw, "get", "/orders").status_code == 200
    response = _call(raw, "post", "/orders", _sale(store1))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "Read only" in response.json()["detail"]


def test_a_till_token_records_sales_and_points_but_nothing_else(
    org: Any, manager: Any, store1: Any
) -> None:
    raw = create_api_token(manager, "till 1", actor=manager, scope="pos")
    customer = make_customer(org, actor=manager, home_store=store1)
    assert _call(raw, "post", "/orders", _sale(store1)).status_code == 201
    assert _call(raw, "post", "/customers", {"name": "新客"}).status_code == 201
    assert _call(raw, "get", f"/customers/{customer.pk}/loyalty").status_code == 200
    # Catalogue and points awards are beyond a till, even for a manager's token.
    for path, body in (
        ("/categories", {"name": "面膜"}),
        (f"/customers/{customer.pk}/points/award", {"points": 10, "reason": "x"}),
    ):
        assert _call(raw, "post", path, body).json()["code"] == "insufficient_scope"
    assert _call(raw, "patch", f"/customers/{customer.pk}", {"notes": "x"}).status_code == 403


def test_expired_and_revoked_tokens_stop_working(owner: Any) -> None:
    expired = create_api_token(
        owner, "old", actor=owner, expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _call(expired, "get", "/me").status_code == 401
    raw = create_api_token(
        owner, "live", actor=owner, expires_at=timezone.now() + timedelta(days=1)
    )
    assert _call(raw, "get", "/me").status_code == 200
    token = ApiToken.objects.get(name="live")
    revoke_api_token(token, actor=owner)
    assert _call(raw, "get", "/me").status_code == 401
    assert AuditEntry.objects.filter(action="token_revoked", object_id=str(token.pk)).count() == 1


def test_use_is_audited_once_a_day_per_token(owner: Any) -> None:
    raw = create_api_token(owner, "sync", actor=owner)
    for _ in range(3):
        assert _call(raw, "get", "/me").status_code == 200
    used = AuditEntry.objects.filter(action="token_used")
    assert used.count() == 1 and used.get().detail["first_path"] == "/api/v1/me"
    ApiToken.objects.update(last_audited_on=timezone.localdate() - timedelta(days=1))
    _call(raw, "get", "/me")
    assert used.count() == 2
    created = AuditEntry.objects.get(action="token_created")
    assert created.detail["scope"] == "full"


def test_createtoken_takes_a_scope_and_a_lifetime(owner: Any) -> None:
    out = StringIO()
    call_command("createtoken", "owner", "--scope", "pos", "--days", "30", stdout=out)
    token = ApiToken.objects.get()
    assert token.scope == "pos"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


def test_the_settings_page_creates_lists_and_revokes_tokens(owner: Any, client: Client) -> None:
    client.force_login(owner)
    response = client.post(
        "/accounts/settings/tokens/", {"name": "till 1", "scope": "pos", "days": "90"}
    )
    assert response.status_code == 200
    raw = response.context["new_token"]
    token = ApiToken.objects.get()
    assert (token.name, token.scope) == ("till 1", "pos") and token.expires_at is not None
    for _ in range(3):
        _call(raw, "get", "/me")
    token.refresh_from_db()
    assert token.use_count == 3 and token.last_used_at is not None
    page = client.get("/accounts/settings/", headers={"Accept-Language": "en"}).content.decode()
    assert "till 1" in page and "Till (orders and points)" in page and "last used" in page
    assert "used 3 times" in page
    zh = client.get("/accounts/settings/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "已使用 3 次" in zh
    client.post(f"/accounts/settings/tokens/{token.pk}/delete/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.post("/accounts/settings/tokens/", {"scope": "root"}).status_code == 302
    assert ApiToken.objects.count() == 1


def test_the_webhook_screen_is_the_owners(owner: Any, staff_a: Any, client: Client) -> None:
    client.force_login(staff_a)
    assert client.get("/integrations/webhooks/").status_code == 403
    client.force_login(owner)
    zh = client.get("/integrations/webhooks/", headers={"Accept-Language": "zh-hans"})
    assert zh.status_code == 200 and "订单支付" in zh.content.decode()
    response = client.post(
        "/integrations/webhooks/",
        {"url": "https://pos.example.com/hook", "events": ["order.paid", "points.changed"]},
        headers={"Accept-Language": "en"},
    )
    assert response.context["new_secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["order.paid", "points.changed"]
    client.post(f"/integrations/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "<script>" not in client.get("/integrations/webhooks/").content.decode()
