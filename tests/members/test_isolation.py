"""A member session opens member pages only: every staff URL and the API answer 404 to it;
a staff login is not a member session."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from huitouke.members.sessions import COOKIE, MEMBER_PREFIX, start_session
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db

SAMPLE = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000001",
}


def _walk(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Every URL of the resolver, with converters filled by sample values."""
    import re

    paths: list[str] = []
    for entry in resolver.url_patterns:
        pattern = str(entry.pattern)
        text = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), pattern)
        text = text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
        if isinstance(entry, URLResolver):
            paths.extend(_walk(entry, prefix + text))
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + text)
    return paths


@pytest.fixture
def member_client(client, org, staff_a):
    from django.http import HttpResponse

    customer = make_customer(org, owner=staff_a)
    response = HttpResponse()
    start_session(response, customer)
    client.cookies[COOKIE] = response.cookies[COOKIE].value
    return client


def test_member_session_gets_404_on_every_staff_url(member_client):
    paths = [p for p in _walk(get_resolver()) if not p.startswith((MEMBER_PREFIX, "/i18n/"))]
    assert len(paths) > 50
    assert "/api/v1/customers" in " ".join(paths)
    for path in paths:
        for method in ("get", "post"):
            response = getattr(member_client, method)(path)
            assert response.status_code == 404, (method, path, response.status_code)


def test_member_session_gets_404_on_the_api_and_admin(member_client):
    for path in ("/api/v1/customers", "/api/v1/openapi.json", "/admin/", "/login/", "/"):
        assert member_client.get(path).status_code == 404, path
    assert member_client.get(reverse("member:home")).status_code == 200


def test_staff_session_is_not_a_member(client, staff_a):
    client.force_login(staff_a)
    response = client.get(reverse("member:home"))
    assert response.status_code == 302 and response["Location"] == reverse("member:index")
    assert client.get(reverse("member:pass")).status_code == 204
    assert client.post(reverse("member:consent"), {"channel": "sms"}).status_code == 302
    assert client.get("/").status_code == 200  # her own staff pages still open


def test_signed_out_or_forged_cookie_is_no_session(client, org, staff_a):
    client.cookies[COOKIE] = "forged-value"
    assert client.get(reverse("member:home")).status_code == 302
    assert client.get("/login/").status_code == 200
