"""Callback crypto against WeCom's published example (加解密方案说明, token QDG6eK)."""

from __future__ import annotations

import re

import pytest

from huitouke.wecom.crypto import CallbackError, WeComCrypto

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"

# The documented POST: /cgi-bin/wxpush?msg_signature=…&timestamp=1409659813&nonce=1372623149
MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
TIMESTAMP = "1409659813"
NONCE = "1372623149"
ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLj"
    "vd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMn"
    "vw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k"
    "22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoy"
    "yH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
# The documented plaintext (whitespace between elements aside).
PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>"
    "<CreateTime>1409659813</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[hello]]></Content>"
    "<MsgId>4561255354251345929</MsgId>"
    "<AgentID>218</AgentID></xml>"
)
# The documented URL verification (VerifyURL): echostr decrypts to 1616140317555161061.
VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
VERIFY_TIMESTAMP = "1409659589"
VERIFY_NONCE = "263014780"
VERIFY_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)


def crypto(receive_id: str = CORP_ID) -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, receive_id)


def test_signature_matches_the_published_one() -> None:
    assert crypto().signature(TIMESTAMP, NONCE, ENCRYPT) == MSG_SIGNATURE


def test_published_message_decrypts_to_the_published_plaintext() -> None:
    message = crypto().open(MSG_SIGNATURE, TIMESTAMP, NONCE, ENCRYPT, now=int(TIMESTAMP) + 5)
    assert re.sub(r">\s+<", "><", message.decode().strip()) == PLAINTEXT


def test_published_url_verification_gives_the_echo() -> None:
    echo = crypto().open(
        VERIFY_SIGNATURE,
        VERIFY_TIMESTAMP,
        VERIFY_NONCE,
        VERIFY_ECHOSTR,
        now=int(VERIFY_TIMESTAMP),
    )
    assert echo == b"1616140317555161061"


def test_wrong_signature_is_refused() -> None:
    wrong = MSG_SIGNATURE[:-1] + ("0" if MSG_SIGNATURE[-1] != "0" else "1")
    with pytest.raises(CallbackError, match="signature"):
        crypto().open(wrong, TIMESTAMP, NONCE, ENCRYPT, now=int(TIMESTAMP))


def test_tampered_body_is_refused() -> None:
    tampered = "A" + ENCRYPT[1:]
    with pytest.raises(CallbackError, match="signature"):
        crypto().open(MSG_SIGNATURE, TIMESTAMP, NONCE, tampered, now=int(TIMESTAMP))


def test_wrong_receiveid_is_refused() -> None:
    with pytest.raises(CallbackError, match="receiveid"):
        crypto("ww0000000000000000").open(
            MSG_SIGNATURE, TIMESTAMP, NONCE, ENCRYPT, now=int(TIMESTAMP)
        )


def test_stale_timestamp_is_refused() -> None:
    # The published example is from 2014: checked against the real clock it is refused.
    with pytest.raises(CallbackError, match="stale"):
        crypto().open(MSG_SIGNATURE, TIMESTAMP, NONCE, ENCRYPT)
    with pytest.raises(CallbackError, match="stale"):
        crypto().open(MSG_SIGNATURE, TIMESTAMP, NONCE, ENCRYPT, now=int(TIMESTAMP) + 301)


def test_round_trip_pads_to_32_bytes() -> None:
    box = crypto()
    for size in (0, 1, 11, 12, 44, 100):
        text = b"x" * size
        encrypt, signature = box.seal(text, timestamp="1700000000", nonce="42")
        raw_len = len(__import__("base64").b64decode(encrypt))
        assert raw_len % 32 == 0
        assert box.open(signature, "1700000000", "42", encrypt, now=1700000000) == text


def test_bad_key_is_refused() -> None:
    with pytest.raises(CallbackError):
        WeComCrypto(TOKEN, "short", CORP_ID)
