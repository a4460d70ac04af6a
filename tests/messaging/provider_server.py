"""Local stand-ins for the Aliyun and Tencent SMS APIs, for transport tests.

Each server is a real http.server on 127.0.0.1 (random port, own thread) that checks every
request's signature the way the provider documents it. The signing code here is written
independently of huitouke.messaging.transports (byte-by-byte percent-encoding, canonical
headers rebuilt from the headers actually received), so a bug in the adapter cannot be
mirrored by the checker. Servers record each request and can be told to fail on demand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.standin_http import StandInServer

# Failure modes understood by both servers (see fail_next).
HTTP_500 = "http500"
THROTTLE = "throttle"
BAD_SIGNATURE = "bad_signature"
SLOW = "slow"  # answers correctly, but only after `slow_seconds`
RESET = "reset"  # closes the connection without answering


@dataclass
class RecordedRequest:
    """One request as the server saw it, with the server's verdict."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    verdict: str = ""


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    seen_nonces: set[str] = field(default_factory=set)
    counter: int = 0


class _FakeServer(StandInServer):
    """Shared by both providers: record every request, script failures (the server itself is
    tests.standin_http.StandInServer)."""

    slow_seconds = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.state = _State()

    @property
    def url(self) -> str:
        return self.base_url

    def fail_next(self, *modes: str) -> None:
        """Make the next len(modes) requests fail in these ways, in order."""
        with self.state.lock:
            self.state.script.extend(modes)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def _next_id(self) -> int:
        with self.state.lock:
            self.state.counter += 1
            return self.state.counter

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = RecordedRequest(
            method=handler.command,
            path=split.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            body=body,
        )
        with self.state.lock:
            self.state.requests.append(record)
            mode = self.state.script.popleft() if self.state.script else ""
        if mode == RESET:
            record.verdict = RESET
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == SLOW:
            time.sleep(self.slow_seconds)
        if mode == HTTP_500:
            record.verdict = HTTP_500
            self._reply(handler, 500, {"Message": "internal server error"})
            return
        status, payload = self.handle(record, mode)
        self._reply(handler, status, payload)

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        try:
            self.reply_json(handler, status, payload)
        except OSError:
            # The client gave up (a SLOW reply after its timeout); nothing left to answer.
            handler.close_connection = True

    def handle(self, record: RecordedRequest, mode: str) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


# ---------------------------------------------------------------- Aliyun (RPC, HMAC-SHA1)

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def pop_percent_encode(text: str) -> str:
    """Aliyun POP percent-encoding, one UTF-8 byte at a time, upper-case hex."""
    out = []
    for byte in text.encode("utf-8"):
        out.append(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}")
    return "".join(out)


def aliyun_expected_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """The signature Aliyun would compute for these (decoded) query parameters."""
    pairs = []
    for name in sorted(params):
        if name == "Signature":
            continue
        pairs.append(pop_percent_encode(name) + "=" + pop_percent_encode(params[name]))
    canonical = "&".join(pairs)
    text = method + "&" + pop_percent_encode("/") + "&" + pop_percent_encode(canonical)
    mac = hmac.new((secret + "&").encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class AliyunFakeServer(_FakeServer):
    """dysmsapi SendSms as documented: signature, nonce and timestamp checks, JSON answers."""

    def __init__(
        self,
        *,
        keys: dict[str, str],
        sign_names: set[str],
        templates: set[str],
    ) -> None:
        super().__init__()
        self.keys = keys
        self.sign_names = sign_names
        self.templates = templates

    def handle(self, record: RecordedRequest, mode: str) -> tuple[int, dict[str, Any]]:
        q = record.query
        request_id = f"REQ-{self._next_id()}"

        def fail(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
            record.verdict = code
            return status, {"Code": code, "Message": message, "RequestId": request_id}

        required = ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "Action")
        missing = [name for name in required if not q.get(name)]
        if missing:
            return fail(400, "MissingParameter", f"missing {missing[0]}")
        secret = self.keys.get(q["AccessKeyId"])
        if secret is None:
            return fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if (
            q.get("SignatureMethod") != "HMAC-SHA1"
            or q.get("SignatureVersion") != "1.0"
            or mode == BAD_SIGNATURE
            or not hmac.compare_digest(
                aliyun_expected_signature(q, secret, record.method), q["Signature"]
            )
        ):
            return fail(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        try:
            sent_at = datetime.strptime(q["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return fail(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((datetime.now(UTC) - sent_at).total_seconds()) > 15 * 60:
            return fail(400, "InvalidTimeStamp.Expired", "Specified time stamp is expired.")
        with self.state.lock:
            reused = q["SignatureNonce"] in self.state.seen_nonces
            self.state.seen_nonces.add(q["SignatureNonce"])
        if reused:
            return fail(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        if q["Action"] != "SendSms" or q.get("Version") != "2017-05-25":
            return fail(400, "InvalidAction.NotFound", "Specified api is not found.")
        if mode == THROTTLE:
            return fail(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
        if not re.fullmatch(r"1\d{10}", q.get("PhoneNumbers", "")):
            return fail(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if q.get("SignName") not in self.sign_names:
            return fail(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if q.get("TemplateCode") not in self.templates:
            return fail(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        if "TemplateParam" in q:
            try:
                json.loads(q["TemplateParam"])
            except ValueError:
                return fail(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
        record.verdict = "OK"
        biz_id = f"{900000 + self._next_id()}^0"
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}


# ---------------------------------------------------------------- Tencent (TC3-HMAC-SHA256)

_AUTH = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})"
)


def tc3_expected_signature(
    *,
    secret_key: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
    timestamp: str,
    date: str,
    service: str,
) -> str:
    """The signature Tencent would compute from the request exactly as received."""
    canonical_headers = ""
    for name in signed_headers:
        canonical_headers += name + ":" + headers.get(name, "").strip().lower() + "\n"
    canonical = (
        method
        + "\n"
        + (path or "/")
        + "\n"
        + query
        + "\n"
        + canonical_headers
        + "\n"
        + ";".join(signed_headers)
        + "\n"
        + hashlib.sha256(body).hexdigest()
    )
    scope = date + "/" + service + "/tc3_request"
    text = (
        "TC3-HMAC-SHA256\n"
        + timestamp
        + "\n"
        + scope
        + "\n"
        + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    )
    key = ("TC3" + secret_key).encode("utf-8")
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


class TencentFakeServer(_FakeServer):
    """sms.tencentcloudapi.com SendSms 2021-01-11: TC3 checks, Response/SendStatusSet answers."""

    def __init__(
        self,
        *,
        keys: dict[str, str],
        app_ids: set[str],
        sign_names: set[str],
        templates: set[str],
    ) -> None:
        super().__init__()
        self.keys = keys
        self.app_ids = app_ids
        self.sign_names = sign_names
        self.templates = templates

    def handle(self, record: RecordedRequest, mode: str) -> tuple[int, dict[str, Any]]:
        h = record.headers
        request_id = f"req-{self._next_id()}"

        def error(code: str, message: str) -> tuple[int, dict[str, Any]]:
            # Tencent reports request-level errors with HTTP 200 and Response.Error.
            record.verdict = code
            return 200, {
                "Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
            }

        match = _AUTH.fullmatch(h.get("authorization", ""))
        if record.method != "POST" or match is None:
            return error("AuthFailure.InvalidAuthorization", "Authorization header is invalid.")
        secret = self.keys.get(match["id"])
        if secret is None:
            return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = h.get("x-tc-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return error("AuthFailure.SignatureExpire", "Signature expired.")
        signed = match["signed"].split(";")
        utc_day = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
        expected = tc3_expected_signature(
            secret_key=secret,
            method=record.method,
            path=record.path,
            query="",
            headers=h,
            signed_headers=signed,
            body=record.body,
            timestamp=timestamp,
            date=match["date"],
            service=match["service"],
        )
        if (
            mode == BAD_SIGNATURE
            or match["date"] != utc_day
            or match["service"] != "sms"
            or not {"content-type", "host"} <= set(signed)
            or not hmac.compare_digest(expected, match["sig"])
        ):
            return error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated.",
            )
        if h.get("x-tc-action") != "SendSms":
            return error("InvalidAction", "The action is not found.")
        if h.get("x-tc-version") != "2021-01-11":
            return error("NoSuchVersion", "The API version does not exist.")
        if not h.get("x-tc-region"):
            return error("MissingParameter", "Region is required.")
        if mode == "request_limit":
            return error("RequestLimitExceeded", "Your requests exceed the frequency limit.")
        if mode == "internal_error":
            return error("InternalError.Timeout", "Request timed out.")
        try:
            body = json.loads(record.body.decode("utf-8"))
        except ValueError:
            return error("FailedOperation.FailResolvePacket", "Failed to parse the request.")
        if body.get("SmsSdkAppId") not in self.app_ids:
            return error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        if body.get("SignName") not in self.sign_names:
            return error(
                "FailedOperation.SignatureIncorrectOrUnapproved", "Signature not approved."
            )
        if body.get("TemplateId") not in self.templates:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "Template not approved.")
        phones = body.get("PhoneNumberSet") or []
        session = body.get("SessionContext", "")
        statuses = []
        for phone in phones:
            if mode == THROTTLE:
                code, message, serial = "LimitExceeded.PhoneNumberThirtySecondLimit", "limit", ""
            elif not re.fullmatch(r"\+861\d{10}", phone):
                code, message, serial = (
                    "InvalidParameterValue.IncorrectPhoneNumber",
                    "incorrect phone number",
                    "",
                )
            else:
                code, message = "Ok", "send success"
                serial = f"2645:{3000000000 + self._next_id()}"
            statuses.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": phone,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": session,
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            )
        record.verdict = statuses[0]["Code"] if statuses else "empty"
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}
