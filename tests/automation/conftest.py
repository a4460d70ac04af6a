"""Automation fixtures: channels pointing at local provider stand-ins, templates, rule helpers."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from tests.messaging.provider_server import AliyunFakeServer

from huitouke.accounts.models import Organisation, Store
from huitouke.automation.actions import do_save_rule, new_rule
from huitouke.automation.models import AutomationRule
from huitouke.messaging.models import Channel, ChannelConfig, MessageTemplate, Provider

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY_ID = "LTAI5tAutomationTest"
SECRET = "automation-secret"
SMS_TEMPLATE_CODE = "SMS_900001"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime in the organisation's time zone (Asia/Shanghai)."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class LocalController(Controller):
    """aiosmtpd on a port the OS picks."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Mailbox:
    """Accepts mail and keeps it; `refuse` makes the next DATA replies fail with that line."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    controller = LocalController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def sms_server() -> Iterator[AliyunFakeServer]:
    fake = AliyunFakeServer(
        keys={KEY_ID: SECRET}, sign_names={"玫瑰美容"}, templates={SMS_TEMPLATE_CODE}
    )
    with fake:
        yield fake


@pytest.fixture
def sms_channel(org: Organisation, sms_server: AliyunFakeServer) -> ChannelConfig:
    return ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.SMS,
        provider=Provider.ALIYUN,
        settings={
            "access_key_id": KEY_ID,
            "access_key_secret": SECRET,
            "endpoint": sms_server.url + "/",
            "timeout": 3,
        },
        unit_cost=Decimal("0.05"),
    )


@pytest.fixture
def email_channel(org: Organisation, smtp_port: int) -> ChannelConfig:
    return ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.EMAIL,
        provider=Provider.SMTP,
        settings={
            "host": "127.0.0.1",
            "port": smtp_port,
            "from_address": "hi@rose.test",
            "timeout": 5,
        },
        unit_cost=Decimal("0.01"),
    )


def make_sms_template(
    org: Organisation, *, name: str, body: str, sms_params: list[str]
) -> MessageTemplate:
    """An SMS template approved at the stand-in provider (its template code)."""
    return MessageTemplate.objects.create(
        organisation=org,
        name=name,
        channel=Channel.SMS,
        body=body,
        provider_template_code=SMS_TEMPLATE_CODE,
        sms_params=sms_params,
    )


@pytest.fixture
def sms_template(org: Organisation) -> MessageTemplate:
    return make_sms_template(
        org,
        name="生日短信",
        body="{{ salutation }}，生日快乐！券码{{ coupon_code }}",
        sms_params=["salutation", "coupon_code"],
    )


@pytest.fixture
def email_template(org: Organisation) -> MessageTemplate:
    return MessageTemplate.objects.create(
        organisation=org,
        name="生日邮件",
        channel=Channel.EMAIL,
        subject="{{ salutation }}，生日快乐",
        body="{{ name }}，{{ store }}祝您生日快乐！",
    )


def make_rule(
    organisation: Organisation, *, actions: list[dict[str, Any]], **fields: Any
) -> AutomationRule:
    """A saved, active rule (validated like the editor saves it)."""
    fields.setdefault("name", f"rule {AutomationRule.objects.count() + 1}")
    fields.setdefault("is_active", True)
    rule = do_save_rule(new_rule(organisation, actions=actions, **fields), actor=None)
    # Tests replay days of 2025-2030 on a machine whose clock says otherwise: the rule counts
    # as switched on long before, so catching up missed days is not cut short.
    AutomationRule.objects.filter(pk=rule.pk).update(
        activated_at=datetime(2020, 1, 1, tzinfo=SHANGHAI)
    )
    rule.refresh_from_db()
    return rule


def send_sms(template: MessageTemplate) -> list[dict[str, Any]]:
    return [{"type": "send_message", "channel": "sms", "template": template.pk}]


@pytest.fixture
def customer_fields(store1: Store) -> dict[str, Any]:
    return {"gender": "f", "home_store": store1}
