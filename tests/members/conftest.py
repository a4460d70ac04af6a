"""The local Aliyun SMS stand-in (tests/messaging/provider_server.py) as the shop's SMS channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from huitouke.messaging.models import Channel, ChannelConfig, Provider
from tests.messaging.provider_server import AliyunFakeServer

KEY_ID = "LTAI5tMembersTest"
SECRET = "members-secret-for-tests"
CODE_TEMPLATE = "SMS_900100200"


@pytest.fixture
def aliyun() -> Iterator[AliyunFakeServer]:
    with AliyunFakeServer(
        keys={KEY_ID: SECRET}, sign_names={"玫瑰美容"}, templates={CODE_TEMPLATE}
    ) as fake:
        yield fake


@pytest.fixture
def sms_channel(org: Any, aliyun: AliyunFakeServer) -> ChannelConfig:
    return ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.SMS,
        provider=Provider.ALIYUN,
        settings={
            "access_key_id": KEY_ID,
            "access_key_secret": SECRET,
            "endpoint": aliyun.url,
            "timeout": 3,
            "verification_template": CODE_TEMPLATE,
        },
    )


def last_sms_code(server: AliyunFakeServer, phone: str = "13800138000") -> str:
    """The code in the newest accepted SendSms request to `phone`, as the provider received it."""
    for record in reversed(server.requests):
        if record.verdict == "OK" and record.query.get("PhoneNumbers") == phone:
            return str(json.loads(record.query["TemplateParam"])["code"])
    raise AssertionError(f"no SMS reached {phone}")
