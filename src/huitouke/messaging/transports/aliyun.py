"""Aliyun SMS (dysmsapi 2017-05-25) SendSms, signed with the classic RPC HMAC-SHA1 signature.

We use signature version 1.0 (SignatureMethod=HMAC-SHA1) rather than ACS3-HMAC-SHA256: it is
the method the SMS documentation's own worked example uses, so the tests can pin it to
published inputs and output.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huitouke.messaging.transports.base import (
    PermanentSendError,
    SendResult,
    TransientSendError,
    http_request,
)

PROVIDER = "aliyun"
API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"

# Codes worth retrying with back-off; every other non-OK code is final.
_TRANSIENT_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number flow control (1/min, 5/h ...)
        "isp.SYSTEM_ERROR",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",  # every attempt draws a fresh nonce, so a retry is clean
    }
)
_TRANSIENT_PREFIXES = ("Throttling",)  # Throttling, Throttling.User, Throttling.Api ...


@dataclass(frozen=True)
class AliyunSmsConfig:
    """Credentials, the approved store signature (without 【】) and where to send."""

    access_key_id: str
    access_key_secret: str
    sign_name: str
    endpoint: str = DEFAULT_ENDPOINT
    region_id: str = "cn-hangzhou"
    timeout: float = 10.0


def percent_encode(value: str) -> str:
    """Aliyun POP encoding: RFC 3986 on UTF-8, so space is %20, '*' is %2A and '~' stays."""
    # quote() with no safe characters leaves exactly the RFC 3986 unreserved set
    # (letters, digits, '-', '_', '.', '~'), which is the POP rule after its three fix-ups.
    return urllib.parse.quote(value.encode("utf-8"), safe="")


def canonicalized_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, each name and value percent-encoded, joined with '&'."""
    return "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}"
        for key in sorted(params)
        if key != "Signature"
    )


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    """HTTPMethod & percentEncode("/") & percentEncode(canonicalized query)."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def sign(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    """Base64 of HMAC-SHA1 over the string to sign, keyed with the secret plus '&'."""
    key = (access_key_secret + "&").encode("utf-8")
    digest = hmac.new(key, string_to_sign(params, method).encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


def normalise_phone(to: str) -> str:
    """Aliyun wants mainland numbers bare (13800138000) and others as country code + number."""
    digits = to.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        return digits[3:]
    return digits.removeprefix("+")


def bare_sign_name(sign_name: str) -> str:
    """The provider adds 【】 itself; accept the signature with or without them."""
    return sign_name.strip().removeprefix("【").removesuffix("】")


class AliyunSmsTransport:
    """Sends one templated SMS per call through SendSms."""

    def __init__(
        self,
        config: AliyunSmsConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonce: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.config = config
        self.clock = clock
        self.nonce = nonce

    def request_params(
        self,
        to: str,
        *,
        template_code: str,
        template_params: Mapping[str, str] | None,
        idempotency_key: str,
    ) -> dict[str, str]:
        """The signed query parameters for one SendSms call."""
        config = self.config
        params = {
            "AccessKeyId": config.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": idempotency_key,
            "PhoneNumbers": normalise_phone(to),
            "RegionId": config.region_id,
            "SignName": bare_sign_name(config.sign_name),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        if template_params:
            params["TemplateParam"] = json.dumps(
                dict(template_params), ensure_ascii=False, separators=(",", ":")
            )
        params["Signature"] = sign(params, config.access_key_secret)
        return params

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
        """Send via SendSms; Code "OK" gives the BizId, other codes raise a typed error."""
        # The body is only the caller's preview: Aliyun renders the approved template.
        if not template_code:
            raise PermanentSendError(
                "Aliyun SMS needs an approved template code", provider=PROVIDER, code="template"
            )
        params = self.request_params(
            to,
            template_code=template_code,
            template_params=template_params,
            idempotency_key=idempotency_key,
        )
        endpoint = self.config.endpoint
        if not urllib.parse.urlsplit(endpoint).path:
            endpoint += "/"
        url = f"{endpoint}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"
        response = http_request(
            "GET",
            url,
            provider=PROVIDER,
            headers={"Accept": "application/json"},
            timeout=self.config.timeout,
        )
        return _interpret(response.status, response.body)


def _interpret(status: int, raw: bytes) -> SendResult:
    payload = _json_object(raw)
    code = str(payload.get("Code", "")) if payload else ""
    message = str(payload.get("Message", "")) if payload else raw[:200].decode("utf-8", "replace")
    if status == 200 and code == "OK":
        biz_id = payload.get("BizId") if payload else None
        if biz_id:
            return SendResult(provider_message_id=str(biz_id))
        # Accepted but without an id: not retried (it may have gone out), shown to the owner.
        raise PermanentSendError(
            "accepted without a BizId", provider=PROVIDER, code=code, http_status=status
        )
    if code in _TRANSIENT_CODES or code.startswith(_TRANSIENT_PREFIXES) or status >= 500:
        raise TransientSendError(
            message or f"HTTP {status}", provider=PROVIDER, code=code, http_status=status
        )
    raise PermanentSendError(
        message or f"HTTP {status}", provider=PROVIDER, code=code, http_status=status
    )


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
