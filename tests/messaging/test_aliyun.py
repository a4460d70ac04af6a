"""Aliyun SMS transport against a local dysmsapi stand-in that verifies signatures."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.messaging.provider_server import (
    BAD_SIGNATURE,
    HTTP_500,
    RESET,
    SLOW,
    THROTTLE,
    AliyunFakeServer,
    aliyun_expected_signature,
)

from huitouke.messaging.transports import PermanentSendError, TransientSendError
from huitouke.messaging.transports.aliyun import (
    AliyunSmsConfig,
    AliyunSmsTransport,
    percent_encode,
    sign,
    string_to_sign,
)

KEY_ID = "LTAI5tHuitoukeTest"
SECRET = "k8Xq2vS0cretForTests"
TEMPLATE = "SMS_465120001"

# Worked example from Aliyun's SMS "签名机制" (signature mechanism) page,
# https://help.aliyun.com/document_detail/56189.html : inputs and the published results.
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_SECRET = "testSecret"
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF"
    "%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce"
    "%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@pytest.fixture
def server() -> Iterator[AliyunFakeServer]:
    fake = AliyunFakeServer(keys={KEY_ID: SECRET}, sign_names={"回头客花店"}, templates={TEMPLATE})
    with fake:
        yield fake


def transport_for(
    server: AliyunFakeServer, *, secret: str = SECRET, timeout: float = 3.0, **kwargs: Any
) -> AliyunSmsTransport:
    config = AliyunSmsConfig(
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name="【回头客花店】",
        endpoint=server.url + "/",
        timeout=timeout,
    )
    return AliyunSmsTransport(config, **kwargs)


def send(transport: AliyunSmsTransport, to: str = "+86 138 0013 8000", key: str = "ob-1") -> str:
    result = transport.send(
        to,
        None,
        "【回头客花店】王女士，生日快乐！送您满200减50券。回T退订",
        template_code=TEMPLATE,
        template_params={"name": "王女士", "coupon": "满200减50"},
        idempotency_key=key,
    )
    return result.provider_message_id


def test_published_signature_example() -> None:
    assert string_to_sign(DOC_PARAMS) == DOC_STRING_TO_SIGN
    assert sign(DOC_PARAMS, DOC_SECRET) == DOC_SIGNATURE
    # The test server's own checker agrees with the published value too.
    assert aliyun_expected_signature(DOC_PARAMS, DOC_SECRET) == DOC_SIGNATURE


def test_percent_encoding_follows_pop_rules() -> None:
    # RFC 3986 with '+' -> %20 for spaces, '*' -> %2A and '~' left alone.
    assert percent_encode("a b*c~d") == "a%20b%2Ac~d"
    assert percent_encode("+/=&:") == "%2B%2F%3D%26%3A"
    assert percent_encode("花") == "%E8%8A%B1"


def test_send_is_accepted_by_the_verifying_server(server: AliyunFakeServer) -> None:
    biz_id = send(transport_for(server))

    [request] = server.requests
    assert request.verdict == "OK"
    assert biz_id.endswith("^0")
    query = request.query
    assert query["Action"] == "SendSms" and query["Version"] == "2017-05-25"
    assert query["PhoneNumbers"] == "13800138000"
    assert query["SignName"] == "回头客花店"
    assert query["TemplateCode"] == TEMPLATE
    assert json.loads(query["TemplateParam"]) == {"name": "王女士", "coupon": "满200减50"}
    assert query["OutId"] == "ob-1"
    assert query["SignatureMethod"] == "HMAC-SHA1"


def test_wrong_secret_is_rejected_and_permanent(server: AliyunFakeServer) -> None:
    with pytest.raises(PermanentSendError) as caught:
        send(transport_for(server, secret="not-the-secret"))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.http_status == 400
    assert [r.verdict for r in server.requests] == ["SignatureDoesNotMatch"]


def test_unknown_access_key_is_permanent(server: AliyunFakeServer) -> None:
    config = AliyunSmsConfig(
        access_key_id="LTAI-unknown",
        access_key_secret=SECRET,
        sign_name="回头客花店",
        endpoint=server.url,
    )
    with pytest.raises(PermanentSendError) as caught:
        send(AliyunSmsTransport(config))
    assert caught.value.code == "InvalidAccessKeyId.NotFound"


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        (HTTP_500, TransientSendError, ""),
        (THROTTLE, TransientSendError, "isv.BUSINESS_LIMIT_CONTROL"),
        (BAD_SIGNATURE, PermanentSendError, "SignatureDoesNotMatch"),
        (RESET, TransientSendError, "network"),
        (SLOW, TransientSendError, "network"),
    ],
)
def test_failure_modes_map_to_retry_or_give_up(
    server: AliyunFakeServer, mode: str, error: type[Exception], code: str
) -> None:
    server.fail_next(mode)
    with pytest.raises(error) as caught:
        send(transport_for(server, timeout=0.3))
    assert type(caught.value) is error
    assert getattr(caught.value, "code", None) == code


def test_500_then_200_delivers_once(server: AliyunFakeServer) -> None:
    transport = transport_for(server)
    server.fail_next(HTTP_500)
    with pytest.raises(TransientSendError):
        send(transport, key="ob-9")
    biz_id = send(transport, key="ob-9")

    assert [r.verdict for r in server.requests] == [HTTP_500, "OK"]
    assert biz_id
    # Each attempt is freshly signed (new nonce) but carries the same idempotency key.
    first, second = server.requests
    assert first.query["OutId"] == second.query["OutId"] == "ob-9"
    assert first.query["SignatureNonce"] != second.query["SignatureNonce"]


@pytest.mark.parametrize(
    ("to", "template", "code"),
    [
        ("+86 12345", TEMPLATE, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13800138000", "SMS_000000000", "isv.SMS_TEMPLATE_ILLEGAL"),
    ],
)
def test_invalid_number_or_template_is_permanent(
    server: AliyunFakeServer, to: str, template: str, code: str
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        transport_for(server).send(
            to, None, "…", template_code=template, template_params=None, idempotency_key="k"
        )
    assert caught.value.code == code


def test_unapproved_signature_is_permanent(server: AliyunFakeServer) -> None:
    config = AliyunSmsConfig(
        access_key_id=KEY_ID, access_key_secret=SECRET, sign_name="别家店", endpoint=server.url
    )
    with pytest.raises(PermanentSendError) as caught:
        send(AliyunSmsTransport(config))
    assert caught.value.code == "isv.SMS_SIGNATURE_ILLEGAL"


def test_missing_template_is_permanent_without_a_request(server: AliyunFakeServer) -> None:
    with pytest.raises(PermanentSendError):
        transport_for(server).send("13800138000", None, "hi", idempotency_key="k")
    assert server.requests == []


def test_clock_far_off_is_rejected(server: AliyunFakeServer) -> None:
    stale = transport_for(server, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(PermanentSendError) as caught:
        send(stale)
    assert caught.value.code == "InvalidTimeStamp.Expired"


def test_reused_nonce_is_transient(server: AliyunFakeServer) -> None:
    # A retry must never reuse a nonce; if one ever did, retrying with a fresh one helps.
    fixed = transport_for(server, nonce=lambda: "same-nonce")
    send(fixed, key="a")
    with pytest.raises(TransientSendError) as caught:
        send(fixed, key="b")
    assert caught.value.code == "SignatureNonceUsed"


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = AliyunSmsConfig(
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        sign_name="回头客花店",
        endpoint=f"http://127.0.0.1:{port}/",
        timeout=1.0,
    )
    with pytest.raises(TransientSendError):
        send(AliyunSmsTransport(config))
