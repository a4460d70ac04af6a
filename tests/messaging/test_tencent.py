"""Tencent Cloud SMS transport against a local SendSms stand-in that verifies TC3 signatures."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.messaging.provider_server import (
    BAD_SIGNATURE,
    HTTP_500,
    RESET,
    SLOW,
    THROTTLE,
    TencentFakeServer,
    tc3_expected_signature,
)

from huitouke.messaging.transports import PermanentSendError, TransientSendError
from huitouke.messaging.transports.tencent import (
    TencentSmsConfig,
    TencentSmsTransport,
    authorization,
    canonical_request,
    normalise_phone,
    template_param_list,
)

SECRET_ID = "AKIDhuitoukeTEST0001"
SECRET_KEY = "tc3-secret-for-tests"
APP_ID = "1400123456"
TEMPLATE = "2102345"

# Worked example from the TencentCloud API "Signature v3" page, section "TC3-HMAC-SHA256
# Signature Method" (the same page is published for every product, e.g.
# https://tencentcloud.com/document/api/1105/41894 ; Chinese: 签名方法 v3): a CVM
# DescribeInstances POST. Inputs and the published intermediate and final values.
DOC_SECRET_ID = "AKID**********************0123456789EXAMPLE"
DOC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_HOST = "cvm.tencentcloudapi.com"
DOC_TIMESTAMP = 1551113065
DOC_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)
DOC_PAYLOAD_HASH = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
DOC_CANONICAL_REQUEST_HASH = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
DOC_AUTHORIZATION = (
    "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/"
    "tc3_request, SignedHeaders=content-type;host, "
    "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
)


@pytest.fixture
def server() -> Iterator[TencentFakeServer]:
    fake = TencentFakeServer(
        keys={SECRET_ID: SECRET_KEY},
        app_ids={APP_ID},
        sign_names={"回头客花店"},
        templates={TEMPLATE},
    )
    with fake:
        yield fake


def transport_for(
    server: TencentFakeServer, *, secret_key: str = SECRET_KEY, timeout: float = 3.0, **kw: Any
) -> TencentSmsTransport:
    config = TencentSmsConfig(
        secret_id=SECRET_ID,
        secret_key=secret_key,
        sms_sdk_app_id=APP_ID,
        sign_name="回头客花店",
        endpoint=server.url,
        timeout=timeout,
    )
    return TencentSmsTransport(config, **kw)


def send(transport: TencentSmsTransport, to: str = "13800138000", key: str = "ob-1") -> str:
    result = transport.send(
        to,
        None,
        "【回头客花店】王女士，距金卡只差10元，回T退订",
        template_code=TEMPLATE,
        template_params={"2": "10", "1": "王女士"},
        idempotency_key=key,
    )
    return result.provider_message_id


def test_published_signature_example() -> None:
    assert hashlib.sha256(DOC_PAYLOAD).hexdigest() == DOC_PAYLOAD_HASH
    request_text = canonical_request(DOC_HOST, DOC_PAYLOAD)
    assert hashlib.sha256(request_text.encode()).hexdigest() == DOC_CANONICAL_REQUEST_HASH
    got = authorization(
        DOC_SECRET_ID,
        DOC_SECRET_KEY,
        host=DOC_HOST,
        payload=DOC_PAYLOAD,
        timestamp=DOC_TIMESTAMP,
        service="cvm",
    )
    assert got == DOC_AUTHORIZATION


def test_server_checker_reproduces_the_published_signature() -> None:
    expected = tc3_expected_signature(
        secret_key=DOC_SECRET_KEY,
        method="POST",
        path="/",
        query="",
        headers={"content-type": "application/json; charset=utf-8", "host": DOC_HOST},
        signed_headers=["content-type", "host"],
        body=DOC_PAYLOAD,
        timestamp=str(DOC_TIMESTAMP),
        date="2019-02-25",
        service="cvm",
    )
    assert DOC_AUTHORIZATION.endswith("Signature=" + expected)


def test_credential_date_is_utc_not_local() -> None:
    # 1551113065 is 2019-02-26 00:44:25 in UTC+8 but 2019-02-25 in UTC (the doc's warning).
    header = authorization("id", "key", host="h", payload=b"{}", timestamp=1551113065)
    assert "Credential=id/2019-02-25/sms/tc3_request" in header


def test_phone_numbers_and_template_params_are_shaped_for_tencent() -> None:
    assert normalise_phone("13800138000") == "+8613800138000"
    assert normalise_phone("+86 138-0013-8000") == "+8613800138000"
    assert normalise_phone("008613800138000") == "+8613800138000"
    assert normalise_phone("+85291234567") == "+85291234567"
    assert template_param_list({"2": "10", "1": "王女士", "10": "x"}) == ["王女士", "10", "x"]
    assert template_param_list({"name": "王", "gap": "10"}) == ["王", "10"]
    assert template_param_list(None) == []


def test_send_is_accepted_by_the_verifying_server(server: TencentFakeServer) -> None:
    serial = send(transport_for(server))

    [request] = server.requests
    assert request.verdict == "Ok"
    assert serial.startswith("2645:")
    assert request.headers["x-tc-action"] == "SendSms"
    assert request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert request.headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    body = json.loads(request.body)
    assert body == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": APP_ID,
        "SignName": "回头客花店",
        "TemplateId": TEMPLATE,
        "TemplateParamSet": ["王女士", "10"],
        "SessionContext": "ob-1",
    }


def test_wrong_secret_is_rejected_and_permanent(server: TencentFakeServer) -> None:
    with pytest.raises(PermanentSendError) as caught:
        send(transport_for(server, secret_key="not-the-key"))
    assert caught.value.code == "AuthFailure.SignatureFailure"
    assert [r.verdict for r in server.requests] == ["AuthFailure.SignatureFailure"]


def test_stale_clock_is_rejected(server: TencentFakeServer) -> None:
    stale = transport_for(server, clock=lambda: time.time() - 3600)
    with pytest.raises(PermanentSendError) as caught:
        send(stale)
    assert caught.value.code == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        (HTTP_500, TransientSendError, ""),
        (THROTTLE, TransientSendError, "LimitExceeded.PhoneNumberThirtySecondLimit"),
        ("request_limit", TransientSendError, "RequestLimitExceeded"),
        ("internal_error", TransientSendError, "InternalError.Timeout"),
        (BAD_SIGNATURE, PermanentSendError, "AuthFailure.SignatureFailure"),
        (RESET, TransientSendError, "network"),
        (SLOW, TransientSendError, "network"),
    ],
)
def test_failure_modes_map_to_retry_or_give_up(
    server: TencentFakeServer, mode: str, error: type[Exception], code: str
) -> None:
    server.fail_next(mode)
    with pytest.raises(error) as caught:
        send(transport_for(server, timeout=0.3))
    assert type(caught.value) is error
    assert getattr(caught.value, "code", None) == code


def test_500_then_200_delivers_once(server: TencentFakeServer) -> None:
    transport = transport_for(server)
    server.fail_next(HTTP_500)
    with pytest.raises(TransientSendError):
        send(transport, key="ob-9")
    serial = send(transport, key="ob-9")

    assert [r.verdict for r in server.requests] == [HTTP_500, "Ok"]
    assert serial
    assert [json.loads(r.body)["SessionContext"] for r in server.requests] == ["ob-9", "ob-9"]


def test_invalid_phone_is_permanent(server: TencentFakeServer) -> None:
    with pytest.raises(PermanentSendError) as caught:
        send(transport_for(server), to="12345")
    assert caught.value.code == "InvalidParameterValue.IncorrectPhoneNumber"


def test_unapproved_template_is_permanent(server: TencentFakeServer) -> None:
    with pytest.raises(PermanentSendError) as caught:
        transport_for(server).send(
            "13800138000", None, "…", template_code="999", idempotency_key="k"
        )
    assert caught.value.code == "FailedOperation.TemplateIncorrectOrUnapproved"


def test_missing_template_is_permanent_without_a_request(server: TencentFakeServer) -> None:
    with pytest.raises(PermanentSendError):
        transport_for(server).send("13800138000", None, "hi", idempotency_key="k")
    assert server.requests == []
