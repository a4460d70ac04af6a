"""SMTP transport against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from huitouke.messaging.transports import PermanentSendError, TransientSendError
from huitouke.messaging.transports.smtp import SmtpConfig, SmtpTransport


class LocalController(Controller):
    """aiosmtpd on a port the OS picks, so parallel test runs never collide."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class RecordingHandler:
    """Accepts mail and keeps it, unless told to refuse at RCPT or DATA with a reply line."""

    rcpt_reply: str = "250 OK"
    data_reply: str = "250 Message accepted for delivery"
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.data_reply.startswith("250"):
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return self.data_reply


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"shop@huitouke.test",
        b"correct horse",
    )
    # handled=False lets aiosmtpd send its own "535 5.7.8" reply on failure.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def smtp_server(handler: RecordingHandler) -> Iterator[LocalController]:
    controller = LocalController(
        handler,
        hostname="127.0.0.1",
        port=0,
        authenticator=_authenticate,
        auth_require_tls=False,  # plain AUTH is fine on loopback in a test
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def transport_for(server: LocalController, **overrides: Any) -> SmtpTransport:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "from_address": "hello@rose-beauty.test",
        "from_name": "玫瑰美容院",
        "timeout": 5.0,
    }
    settings.update(overrides)
    return SmtpTransport(SmtpConfig(**settings))


def send_birthday(transport: SmtpTransport, key: str = "msg-42") -> str:
    result = transport.send(
        "wang.li@example.test",
        "生日快乐，王女士！",
        "王女士您好：\n祝您生日快乐！凭券码 HTK-88 到店立减50元。\n回头客·玫瑰美容院",
        idempotency_key=key,
    )
    return result.provider_message_id


def test_chinese_subject_and_body_arrive_intact(
    smtp_server: LocalController, handler: RecordingHandler
) -> None:
    message_id = send_birthday(transport_for(smtp_server))

    assert len(handler.messages) == 1
    received = handler.messages[0]
    assert received["Subject"] == "生日快乐，王女士！"
    # The SMTP policy puts CRLF line ends on the wire; compare the text itself.
    assert received.get_content().replace("\r\n", "\n") == (
        "王女士您好：\n祝您生日快乐！凭券码 HTK-88 到店立减50元。\n回头客·玫瑰美容院\n"
    )
    assert received.get_content_charset() == "utf-8"
    assert received["From"].addresses[0].display_name == "玫瑰美容院"
    assert received["From"].addresses[0].addr_spec == "hello@rose-beauty.test"
    assert handler.envelopes == [("hello@rose-beauty.test", ["wang.li@example.test"])]
    assert received["Message-ID"] == message_id == "<msg-42@rose-beauty.test>"


def test_retry_with_the_same_key_carries_the_same_message_id(
    smtp_server: LocalController, handler: RecordingHandler
) -> None:
    transport = transport_for(smtp_server)
    first = send_birthday(transport, key="outbox-7:attempt-independent")
    second = send_birthday(transport, key="outbox-7:attempt-independent")
    other = send_birthday(transport, key="outbox-8")

    # ':' is not in the readable set, so the key is hashed (SHA-256, first 40 hex digits).
    digest = hashlib.sha256(b"outbox-7:attempt-independent").hexdigest()[:40]
    assert first == second == f"<{digest}@rose-beauty.test>"
    assert other == "<outbox-8@rose-beauty.test>"
    assert [m["Message-ID"] for m in handler.messages] == [first, second, other]


def test_login_with_the_right_password_is_accepted(
    smtp_server: LocalController, handler: RecordingHandler
) -> None:
    transport = transport_for(smtp_server, username="shop@huitouke.test", password="correct horse")
    send_birthday(transport)
    assert len(handler.messages) == 1


def test_wrong_password_is_permanent(
    smtp_server: LocalController, handler: RecordingHandler
) -> None:
    transport = transport_for(smtp_server, username="shop@huitouke.test", password="wrong")
    with pytest.raises(PermanentSendError) as caught:
        send_birthday(transport)
    assert caught.value.code == "535"
    assert handler.messages == []


@pytest.mark.parametrize(
    ("stage", "reply", "error", "code"),
    [
        ("rcpt_reply", "450 4.2.1 Mailbox busy, try later", TransientSendError, "450"),
        ("rcpt_reply", "550 5.1.1 No such user here", PermanentSendError, "550"),
        ("data_reply", "451 4.3.0 Temporary local problem", TransientSendError, "451"),
        ("data_reply", "554 5.7.1 Message rejected as spam", PermanentSendError, "554"),
    ],
)
def test_server_refusals_map_to_retry_or_give_up(
    smtp_server: LocalController,
    handler: RecordingHandler,
    stage: str,
    reply: str,
    error: type[Exception],
    code: str,
) -> None:
    setattr(handler, stage, reply)
    with pytest.raises(error) as caught:
        send_birthday(transport_for(smtp_server))
    assert type(caught.value) is error
    assert getattr(caught.value, "code", None) == code
    assert handler.messages == []


def test_temporary_refusal_then_delivery_sends_once(
    smtp_server: LocalController, handler: RecordingHandler
) -> None:
    transport = transport_for(smtp_server)
    handler.data_reply = "451 4.3.0 Temporary local problem"
    with pytest.raises(TransientSendError):
        send_birthday(transport)
    handler.data_reply = "250 OK"
    send_birthday(transport)
    assert len(handler.messages) == 1


def test_connection_refused_is_transient() -> None:
    # Bind a port and close it again: nothing listens there now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = SmtpTransport(
        SmtpConfig(host="127.0.0.1", port=port, from_address="a@b.test", timeout=2.0)
    )
    with pytest.raises(TransientSendError) as caught:
        send_birthday(transport)
    assert caught.value.code == "network"


def test_starttls_required_but_not_offered_is_permanent(smtp_server: LocalController) -> None:
    transport = transport_for(smtp_server, security="starttls")
    with pytest.raises(PermanentSendError) as caught:
        send_birthday(transport)
    assert caught.value.code == "unsupported"
