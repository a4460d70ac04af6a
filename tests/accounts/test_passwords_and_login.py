"""Passwords and login: the similarity rules in effect, per-IP lock-out across usernames, the
client's address behind the trusted proxy, and password reset by email through a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from tests.helpers import PASSWORD, make_user
from tests.messaging.test_smtp import LocalController, RecordingHandler

from huitouke.accounts.models import Role, User
from huitouke.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def staff_form(username: str, password: str, store) -> dict[str, object]:
    return {
        "username": username,
        "display_name": "小新",
        "phone": "",
        "role": Role.STAFF,
        "store": store.pk,
        "is_active": "on",
        "password": password,
    }


@pytest.mark.parametrize("password", ["pwuser123", "pwuserpwuser", "PWUSER2024!"])
def test_a_password_like_the_username_is_refused(client, owner, store1, password):
    client.force_login(owner)
    response = client.post(reverse("accounts:staff_create"), staff_form("pwuser", password, store1))
    assert response.status_code == 200
    assert not User.objects.filter(username="pwuser").exists()


def test_a_good_password_is_accepted(client, owner, store1):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:staff_create"), staff_form("pwuser", "玫瑰-桂花-2024-rain", store1)
    )
    assert response.status_code == 302
    assert User.objects.get(username="pwuser").check_password("玫瑰-桂花-2024-rain")


def login(client: Client, username: str, password: str, ip: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_spraying_one_address_across_usernames_locks_that_address(client, owner, org, store1):
    for n in range(5):
        login(client, f"someone{n}", "Spring2024!", "198.51.100.7")
    # The owner's right password from the sprayer's address: locked.
    assert login(client, "owner", PASSWORD, "198.51.100.7").status_code == 429
    # From her own address she still logs in.
    assert login(Client(), "owner", PASSWORD, "198.51.100.8").status_code == 302


def test_behind_the_trusted_proxy_the_forwarded_address_counts(client, settings, owner):
    settings.TRUSTED_PROXIES = ["10.0.0."]
    for _ in range(5):
        login(client, "owner", "wrong", "10.0.0.2", forwarded="203.0.113.9")
    # The attacker is locked out; the owner behind the same proxy is not.
    assert (
        login(Client(), "owner", PASSWORD, "10.0.0.2", forwarded="203.0.113.9").status_code == 429
    )
    # A forged address written in front of the proxy's is ignored: still the attacker's.
    forged = "192.0.2.1, 203.0.113.9"
    assert login(Client(), "owner", PASSWORD, "10.0.0.2", forwarded=forged).status_code == 429
    assert (
        login(Client(), "owner", PASSWORD, "10.0.0.2", forwarded="203.0.113.20").status_code == 302
    )
    ips = set(AuditEntry.objects.filter(action__startswith="login").values_list("ip", flat=True))
    assert ips == {"203.0.113.9", "203.0.113.20"}


def test_a_forwarded_header_from_anyone_else_is_ignored(client, settings, owner):
    settings.TRUSTED_PROXIES = ["10.0.0."]
    login(client, "owner", PASSWORD, "198.51.100.7", forwarded="1.2.3.4")
    assert AuditEntry.objects.get(action="login").ip == "198.51.100.7"


@pytest.fixture
def mail_server() -> Iterator[tuple[LocalController, RecordingHandler]]:
    handler = RecordingHandler()
    controller = LocalController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_password_reset_by_email(client, settings, org, store1, mail_server):
    server, handler = mail_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    user = make_user("lin", org, Role.STAFF, store1, email="lin@example.com")
    page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in page
    response = client.post(reverse("password_reset"), {"email": "lin@example.com"})
    assert response.status_code == 302
    client.post(reverse("password_reset"), {"email": "nobody@example.com"})  # no mail, same answer
    assert len(handler.messages) == 1 and handler.envelopes[0][1] == ["lin@example.com"]
    body = handler.messages[0].get_content()
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", body)
    assert link is not None
    form_url = client.get(link.group(1), follow=True).redirect_chain[-1][0]
    new = "桂花-玫瑰-2025-wind"
    done = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    # The link works once.
    assert (
        "expired"
        in client.get(link.group(1), follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
