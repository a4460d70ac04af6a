"""Message templates are edited with their variables as people read them (［称呼］), in either
language, and stored as {{ salutation }}; no {{ reaches the editor's screen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from huitouke.messaging.models import Channel, MessageTemplate
from huitouke.messaging.rendering import from_readable, readable


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.django_db
def test_the_editor_shows_and_takes_variables_by_name(owner: Any, org: Any) -> None:
    template = MessageTemplate.objects.create(
        organisation=org,
        name="生日短信",
        channel=Channel.SMS,
        body="{{ salutation }}，生日快乐！券码{{ coupon_code }}",
        sms_params=["salutation", "coupon_code"],
    )
    client = Client()
    client.force_login(owner)
    page = client.get(
        reverse("messaging:template_edit", args=[template.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    html = page.content.decode()
    assert "{{" not in _visible(html)
    assert "［称呼］，生日快乐！券码［券码］" in html
    assert 'value="称呼, 券码"' in html

    answer = client.post(
        reverse("messaging:template_edit", args=[template.pk]),
        {
            "name": "生日短信",
            "channel": "sms",
            "body": "［称呼］您好，［Store］送您［券码］。",
            "sms_params_text": "称呼、券码",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    template.refresh_from_db()
    assert template.body == "{{ salutation }}您好，{{ store }}送您{{ coupon_code }}。"
    assert template.sms_params == ["salutation", "coupon_code"]


def test_readable_and_back_are_inverse_and_leave_other_brackets() -> None:
    text = "{{ salutation }}您好，［新品］到了，{{ points }}积分"
    shown = readable(text)
    assert "{{" not in shown and "［新品］" in shown
    assert from_readable(shown) == text
