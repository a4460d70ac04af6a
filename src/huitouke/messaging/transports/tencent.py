"""Tencent Cloud SMS (API 2021-01-11) SendSms, signed with TC3-HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
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

PROVIDER = "tencent"
SERVICE = "sms"
ACTION = "SendSms"
API_VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"

# Error-code families worth retrying; InvalidParameterValue.*, FailedOperation.*,
# AuthFailure.*, UnauthorizedOperation.* and anything unknown are final.
_TRANSIENT_PREFIXES = ("LimitExceeded", "RequestLimitExceeded", "InternalError")


@dataclass(frozen=True)
class TencentSmsConfig:
    """Credentials, the SMS application, the approved store signature and where to send."""

    secret_id: str
    secret_key: str
    sms_sdk_app_id: str
    sign_name: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str = "ap-guangzhou"
    timeout: float = 10.0


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def canonical_request(host: str, payload: bytes, content_type: str = CONTENT_TYPE) -> str:
    """POST, "/", empty query, the two signed headers, and the payload's SHA-256."""
    canonical_headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    return "\n".join(
        ["POST", "/", "", canonical_headers, "content-type;host", _sha256_hex(payload)]
    )


def utc_date(timestamp: int) -> str:
    """The credential-scope date: the UTC date of the timestamp, never the local one."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def signature(secret_key: str, *, timestamp: int, service: str, canonical_request_text: str) -> str:
    """Hex HMAC-SHA256 of the string to sign with the date/service/tc3_request derived key."""
    date = utc_date(timestamp)
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            ALGORITHM,
            str(timestamp),
            scope,
            _sha256_hex(canonical_request_text.encode("utf-8")),
        ]
    )
    secret_date = _hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    secret_service = _hmac_sha256(secret_date, service)
    secret_signing = _hmac_sha256(secret_service, "tc3_request")
    return hmac.new(secret_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    secret_id: str,
    secret_key: str,
    *,
    host: str,
    payload: bytes,
    timestamp: int,
    service: str = SERVICE,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The full Authorization header value for a JSON POST."""
    request_text = canonical_request(host, payload, content_type)
    sig = signature(
        secret_key, timestamp=timestamp, service=service, canonical_request_text=request_text
    )
    scope = f"{utc_date(timestamp)}/{service}/tc3_request"
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={sig}"
    )


def normalise_phone(to: str) -> str:
    """E.164 as Tencent wants it: a bare 11-digit mainland number becomes +86…."""
    digits = to.replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return digits
    if digits.startswith("0086"):
        return "+" + digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return "+" + digits


def template_param_list(params: Mapping[str, str] | None) -> list[str]:
    """Tencent templates use positional {1}, {2}…; numeric keys are ordered by number."""
    if not params:
        return []
    keys = list(params)
    if all(key.isdigit() for key in keys):
        keys.sort(key=int)
    # Otherwise the caller's insertion order is the template's order.
    return [str(params[key]) for key in keys]


class TencentSmsTransport:
    """Sends one templated SMS per call through SendSms."""

    def __init__(self, config: TencentSmsConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock

    def build_request(
        self,
        to: str,
        *,
        template_code: str,
        template_params: Mapping[str, str] | None,
        idempotency_key: str,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and JSON body of one signed SendSms call."""
        config = self.config
        body = {
            "PhoneNumberSet": [normalise_phone(to)],
            "SmsSdkAppId": config.sms_sdk_app_id,
            "SignName": config.sign_name.strip().removeprefix("【").removesuffix("】"),
            "TemplateId": template_code,
            "TemplateParamSet": template_param_list(template_params),
            "SessionContext": idempotency_key,
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        host = urllib.parse.urlsplit(config.endpoint).netloc
        timestamp = int(self.clock())
        headers = {
            "Authorization": authorization(
                config.secret_id,
                config.secret_key,
                host=host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": config.region,
        }
        return headers, payload

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
        """Send via SendSms; status "Ok" gives the SerialNo, other codes raise a typed error."""
        # The body is only the caller's preview: Tencent renders the approved template.
        if not template_code:
            raise PermanentSendError(
                "Tencent SMS needs an approved template id", provider=PROVIDER, code="template"
            )
        headers, payload = self.build_request(
            to,
            template_code=template_code,
            template_params=template_params,
            idempotency_key=idempotency_key,
        )
        response = http_request(
            "POST",
            self.config.endpoint,
            provider=PROVIDER,
            headers=headers,
            body=payload,
            timeout=self.config.timeout,
        )
        return _interpret(response.status, response.body)


def _error(code: str, message: str, status: int) -> TransientSendError | PermanentSendError:
    if code.startswith(_TRANSIENT_PREFIXES) or status >= 500:
        return TransientSendError(message, provider=PROVIDER, code=code, http_status=status)
    return PermanentSendError(message, provider=PROVIDER, code=code, http_status=status)


def _interpret(status: int, raw: bytes) -> SendResult:
    response = _response_object(raw)
    if response is None:
        raise _error("", f"HTTP {status}: unreadable response", status)
    # A request-level failure (bad signature, throttled API) comes back as Response.Error,
    # usually with HTTP 200; a per-number failure comes back in SendStatusSet.
    error = response.get("Error")
    if isinstance(error, dict):
        raise _error(str(error.get("Code", "")), str(error.get("Message", "")), status)
    statuses = response.get("SendStatusSet")
    if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
        raise _error("", f"HTTP {status}: no SendStatusSet", status)
    first = statuses[0]
    code = str(first.get("Code", ""))
    if code == "Ok" and first.get("SerialNo"):
        return SendResult(provider_message_id=str(first["SerialNo"]))
    raise _error(code, str(first.get("Message", "")), status)


def _response_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    inner = value.get("Response") if isinstance(value, dict) else None
    return inner if isinstance(inner, dict) else None
