"""What every channel transport promises the outbox: one send, one result or one typed error."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message; its own id for it (BizId, SerialNo, Message-ID)."""

    provider_message_id: str


class SendError(Exception):
    """A send failed; `code` is the provider's error code (or an HTTP/SMTP status) for the log."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.http_status = http_status

    def __str__(self) -> str:
        detail = f" [{self.code}]" if self.code else ""
        return f"{self.provider}: {self.message}{detail}"


class TransientSendError(SendError):
    """Worth retrying later with back-off: throttling, provider 5xx, timeouts, refused connections."""


class PermanentSendError(SendError):
    """Retrying cannot help: bad credentials, invalid number, unapproved template or signature."""


class Transport(Protocol):
    """One outbound channel. Implementations must not retry themselves; the outbox does."""

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
        """Send one message or raise TransientSendError / PermanentSendError."""
        ...


@dataclass(frozen=True)
class HttpResponse:
    """Status and raw body of a provider's HTTP answer."""

    status: int
    body: bytes


def http_request(
    method: str,
    url: str,
    *,
    provider: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
) -> HttpResponse:
    """Make one HTTP call; network failures become TransientSendError, HTTP errors are returned."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResponse(status=response.status, body=response.read())
    except urllib.error.HTTPError as error:
        # 4xx/5xx still carry the provider's JSON error; the caller classifies it.
        with error:
            return HttpResponse(status=error.code, body=error.read())
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        # Refused, reset or timed out: the request may or may not have reached the
        # provider. Retrying is still right; the idempotency key goes out with every
        # attempt (OutId / SessionContext / Message-ID) so a rare duplicate is traceable.
        reason = getattr(error, "reason", error)
        raise TransientSendError(
            f"network error: {reason}", provider=provider, code="network"
        ) from error
