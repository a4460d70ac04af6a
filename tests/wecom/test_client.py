"""The WeCom client and the stored connection against the local stand-in."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from huitouke.audit.models import AuditEntry
from huitouke.wecom.actions import client_for, do_save_connection, do_test_connection
from huitouke.wecom.client import WeComClient, WeComError
from huitouke.wecom.models import WeComConnection
from tests.wecom.standin import WeComStandIn


def make_client(standin: WeComStandIn, **options: Any) -> tuple[WeComClient, list[float]]:
    sleeps: list[float] = []
    client = WeComClient(standin.corp_id, standin.secret, sleep=sleeps.append, **options)
    return client, sleeps


def test_token_is_fetched_once_and_cached(standin: WeComStandIn) -> None:
    standin.add_member("u1", "小美")
    client, _ = make_client(standin)
    assert client.follow_users() == ["u1"]
    assert client.follow_users() == ["u1"]
    assert standin.token_fetches == 1


def test_token_is_refetched_when_expired_by_clock(standin: WeComStandIn) -> None:
    now = [1_000_000.0]
    client, _ = make_client(standin, clock=lambda: now[0])
    client.follow_users()
    now[0] += 7200  # past expires_in (minus the margin)
    client.follow_users()
    assert standin.token_fetches == 2


@pytest.mark.parametrize("errcode", [40014, 42001, 42009])
def test_rejected_token_is_refreshed_and_the_call_repeated(
    standin: WeComStandIn, errcode: int
) -> None:
    standin.add_member("u1", "小美")
    client, _ = make_client(standin)
    client.follow_users()
    standin.fail_next(errcode)
    assert client.follow_users() == ["u1"]
    assert standin.token_fetches == 2


def test_busy_and_rate_limit_are_retried_with_back_off(standin: WeComStandIn) -> None:
    standin.add_member("u1", "小美")
    client, sleeps = make_client(standin)
    client.access_token()
    standin.fail_next(-1, 45009)
    assert client.follow_users() == ["u1"]
    assert sleeps == [0.5, 1.0]


def test_retries_give_up(standin: WeComStandIn) -> None:
    client, sleeps = make_client(standin, retries=2)
    client.access_token()
    standin.fail_next(45009, 45009, 45009)
    with pytest.raises(WeComError) as info:
        client.follow_users()
    assert info.value.errcode == 45009
    assert len(sleeps) == 2


def test_other_errors_are_not_retried(standin: WeComStandIn) -> None:
    client, sleeps = make_client(standin)
    with pytest.raises(WeComError) as info:
        client.user("nobody")
    assert info.value.errcode == 60111
    assert sleeps == []


def test_wrong_secret_is_an_error(standin: WeComStandIn) -> None:
    client = WeComClient(standin.corp_id, "wrong")
    with pytest.raises(WeComError) as info:
        client.access_token()
    assert info.value.errcode == 40001


def test_unreachable_server_is_an_error_after_retries() -> None:
    client = WeComClient("c", "s", url="http://127.0.0.1:9/cgi-bin", sleep=lambda s: None)
    with pytest.raises(WeComError) as info:
        client.access_token()
    assert info.value.errcode is None


def test_calls_are_logged_without_secrets(
    standin: WeComStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.add_member("u1", "小美", mobile="13800000001")
    client, _ = make_client(standin)
    with caplog.at_level(logging.INFO, logger="huitouke.wecom"):
        client.user("u1")
    text = caplog.text
    assert "gettoken" in text and "user/get" in text
    assert standin.secret not in text
    assert all(token not in text for token in standin.tokens)
    assert "13800000001" not in text


@pytest.mark.django_db
def test_connection_is_stored_encrypted(connection: WeComConnection, standin: WeComStandIn) -> None:
    row = WeComConnection.objects.values().get(pk=connection.pk)
    for value in (standin.corp_id, standin.secret, "cb-token-123"):
        assert all(value not in str(v) for v in row.values())
    fresh = WeComConnection.objects.get(pk=connection.pk)
    assert fresh.secret == standin.secret and fresh.corp_id == standin.corp_id
    entry = AuditEntry.objects.get(action="settings")
    assert standin.secret not in str(entry.detail)


@pytest.mark.django_db
def test_blank_fields_keep_stored_values(connection: WeComConnection, owner: Any) -> None:
    secret = connection.secret
    do_save_connection(connection.organisation, actor=owner, secret="", token="new-token")
    fresh = WeComConnection.objects.get(pk=connection.pk)
    assert fresh.secret == secret and fresh.token == "new-token"


@pytest.mark.django_db
def test_access_token_is_cached_encrypted_on_the_connection(
    connection: WeComConnection, standin: WeComStandIn
) -> None:
    client_for(connection).follow_users()
    fresh = WeComConnection.objects.get(pk=connection.pk)
    (token,) = standin.tokens
    assert token not in fresh.access_token_enc
    # A second process reads the cached token instead of fetching another.
    client_for(fresh).follow_users()
    assert standin.token_fetches == 1


@pytest.mark.django_db
def test_test_connection_reports_ok_and_failure(
    connection: WeComConnection, owner: Any, standin: WeComStandIn
) -> None:
    assert do_test_connection(connection, actor=owner)
    assert connection.last_test_ok is True
    do_save_connection(connection.organisation, actor=owner, secret="wrong")
    connection.refresh_from_db()
    assert not do_test_connection(connection, actor=owner)
    assert connection.last_error.startswith("40001")
