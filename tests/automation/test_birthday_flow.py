"""The birthday template end to end: one click, a preview, the scheduler on her birthday, the
email in a real SMTP server, the coupon in her account, the results page."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from tests.automation.conftest import Mailbox
from tests.helpers import make_customer

from huitouke.automation.holdout import in_holdout
from huitouke.automation.models import AutomationRule, Enrolment
from huitouke.loyalty.models import Coupon
from huitouke.messaging.models import Message, MessageTemplate


@pytest.mark.django_db
def test_birthday_template_from_click_to_results(
    client: Client, org: Any, owner: Any, store1: Any, email_channel: Any, mailbox: Mailbox
) -> None:
    client.force_login(owner)
    client.post(reverse("automation:enable_template", args=["birthday_coupon"]))
    rule = AutomationRule.objects.get(template_code="birthday_coupon")
    # Three customers born on 八月十五, and more until one's draw keeps her out of the 10% holdout
    # (the draw hashes the ids, which differ between databases and test orders).
    candidates: list[Any] = []
    while len(candidates) < 3 or all(
        in_holdout(rule.pk, c.pk, rule.holdout_share) for c in candidates
    ):
        i = len(candidates)
        candidates.append(
            make_customer(
                org,
                name=f"王丽{i}",
                gender="f",
                home_store=store1,
                email=f"w{i}@example.test",
                birthday_kind="lunar",
                birth_month=8,
                birth_day=15,
            )
        )
    her = next(c for c in candidates if not in_holdout(rule.pk, c.pk, rule.holdout_share))

    email = MessageTemplate.objects.get(organisation=org, code="birthday_email")
    preview = client.get(reverse("messaging:template_edit", args=[email.pk]), {"customer": her.pk})
    assert f"{her.surname}女士，生日快乐！" in preview.content.decode()

    # 八月十五 of lunar year 2027 is 2027-09-15; SMS is not set up, so the email fallback goes.
    out = io.StringIO()
    call_command("automation_tick", "--now", "2027-09-15T09:00:00+08:00", "--send", stdout=out)
    call_command("automation_tick", "--now", "2027-09-15T09:01:00+08:00", "--send", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[0])
    assert summary["scheduler"]["offered"] == len(candidates)

    enrolment = Enrolment.objects.get(customer=her)
    assert (enrolment.status, enrolment.occurrence_key) == ("done", "birthday:L2027")
    [coupon] = Coupon.objects.filter(customer=her)
    assert coupon.template.name == "生日礼券"
    sent = Message.objects.get(customer=her, channel="email")
    assert sent.status == "sent" and coupon.code in sent.body
    assert Message.objects.get(customer=her, channel="sms").reason == "no_channel"
    delivered = [m for m in mailbox.messages if m["To"] == her.email]
    assert len(delivered) == 1 and coupon.code in delivered[0].get_content()

    html = client.get(reverse("automation:detail", args=[rule.pk])).content.decode()
    assert 'data-kpi="sent">' in html and her.name in html
    assert (
        client.get(reverse("messaging:customer", args=[her.pk])).content.decode().count("生日快乐")
        >= 1
    )
