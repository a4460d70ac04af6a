"""Email over SMTP (smtplib), UTF-8 throughout, with a Message-ID derived from the idempotency key."""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate
from typing import Literal

from huitouke.messaging.transports.base import (
    PermanentSendError,
    SendResult,
    TransientSendError,
)

PROVIDER = "smtp"

_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to submit mail; `security` is "none", "starttls" or "ssl" (implicit TLS)."""

    host: str
    from_address: str
    port: int = 25
    username: str = ""
    password: str = ""
    security: Literal["none", "starttls", "ssl"] = "none"
    from_name: str = ""
    timeout: float = 10.0


def message_id_for(idempotency_key: str, from_address: str) -> str:
    """A stable RFC 5322 Message-ID for a key, so a retried send carries the same id."""
    domain = from_address.rpartition("@")[2] or "localhost"
    # Keys made of safe characters stay readable in mail logs; anything else is hashed
    # so the header can never be broken by spaces, angle brackets or non-ASCII.
    if _SAFE_KEY.fullmatch(idempotency_key):
        local = idempotency_key
    else:
        local = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{local}@{domain}>"


def _classify(code: int, text: str) -> TransientSendError | PermanentSendError:
    """SMTP reply codes: 4xx is a temporary refusal, 5xx (and anything else) is final."""
    message = f"server replied {code} {text}".strip()
    if 400 <= code < 500:
        return TransientSendError(message, provider=PROVIDER, code=str(code))
    return PermanentSendError(message, provider=PROVIDER, code=str(code))


def _reply_text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _close_quietly(client: smtplib.SMTP) -> None:
    # A failed QUIT after an accepted DATA must not turn a delivered message into an
    # error, or the outbox would retry it and the customer would get it twice.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


class SmtpTransport:
    """Sends one plain-text email per call; it never retries, the outbox does."""

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context

    def build_message(
        self, to: str, subject: str | None, body: str, *, idempotency_key: str
    ) -> EmailMessage:
        """The MIME message that `send` submits (public so previews and tests can inspect it)."""
        config = self.config
        message = EmailMessage(policy=SMTP_POLICY)
        # formataddr RFC 2047-encodes a Chinese display name such as "回头客花店".
        message["From"] = formataddr((config.from_name, config.from_address))
        message["To"] = to
        message["Subject"] = subject or ""
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id_for(idempotency_key, config.from_address)
        message.set_content(body, charset="utf-8")
        return message

    def send(
        self,
        to: str,
        subject: str | None,
        body: str,
        *,
        template_code: str | None = None,
        template_params: dict[str, str] | None = None,
        idempotency_key: str,
    ) -> SendResult:
        """Submit the email; 4xx and network trouble raise Transient, 5xx raises Permanent."""
        # Email is rendered by the caller; template_code/params exist for SMS providers.
        message = self.build_message(to, subject, body, idempotency_key=idempotency_key)
        try:
            client = self._connect()
            try:
                client.send_message(message)
            finally:
                _close_quietly(client)
        except smtplib.SMTPRecipientsRefused as error:
            # One recipient per call, so the single refusal decides.
            code, raw = next(iter(error.recipients.values()))
            raise _classify(code, _reply_text(raw)) from error
        except smtplib.SMTPResponseException as error:
            # Sender refused, DATA refused, AUTH failed, HELO refused: all carry a code.
            raise _classify(error.smtp_code, _reply_text(error.smtp_error)) from error
        except smtplib.SMTPNotSupportedError as error:
            # e.g. STARTTLS configured but not offered: a setup problem, not a blip.
            raise PermanentSendError(
                f"server does not support a required extension: {error}",
                provider=PROVIDER,
                code="unsupported",
            ) from error
        except ssl.SSLCertVerificationError as error:
            raise PermanentSendError(
                f"TLS certificate rejected: {error}", provider=PROVIDER, code="tls"
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            # Refused connection, disconnect mid-dialogue, timeout, DNS failure.
            raise TransientSendError(
                f"connection problem: {error}", provider=PROVIDER, code="network"
            ) from error
        return SendResult(provider_message_id=message["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        context = self.ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        if config.security == "ssl":
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password)
        except BaseException:
            client.close()
            raise
        return client
