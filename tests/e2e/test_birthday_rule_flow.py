"""Issue 8 in the browser: the owner switches on the birthday rule, previews its email for one
customer, the scheduler runs on her birthday, and she sees the message in the outbox, the mail in
a real SMTP server, the coupon on the customer's page and the rule's results."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from tests.automation.conftest import LocalController, Mailbox
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer

from huitouke.automation.holdout import in_holdout
from huitouke.automation.models import AutomationRule
from huitouke.loyalty.models import Coupon
from huitouke.messaging.models import Channel, ChannelConfig, MessageTemplate, Provider

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# 八月十五 (Mid-Autumn) of lunar year 2027 falls on 2027-09-15.
BIRTHDAY_MORNING = "2027-09-15T09:00:00+08:00"
A_MINUTE_LATER = "2027-09-15T09:01:00+08:00"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = LocalController(box, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def test_owner_switches_on_birthday_rule_and_follows_it_to_results(
    page: Any, org: Any, owner: Any, store1: Any, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    ChannelConfig.objects.create(
        organisation=org,
        channel=Channel.EMAIL,
        provider=Provider.SMTP,
        settings={"host": "127.0.0.1", "port": port, "from_address": "hi@rose.test", "timeout": 5},
        unit_cost=Decimal("0.01"),
    )
    log_in(page, "owner", PASSWORD)

    # One click on the ready-made rule lands on its page.
    page.goto(page.base_url + "/automation/")
    page.click("[data-testid=enable-birthday_coupon]")
    page.wait_for_selector("[data-testid=results]")
    rule = AutomationRule.objects.get(organisation=org, template_code="birthday_coupon")
    assert rule.is_active
    assert page.url == page.base_url + f"/automation/{rule.pk}/"

    # Lunar birthdays on 八月十五; `her` is the first whose draw keeps her out of the holdout.
    candidates = [
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
        for i in range(3)
    ]
    her = next(c for c in candidates if not in_holdout(rule.pk, c.pk, rule.holdout_share))

    # The rule's email, previewed as she will see it.
    email_template = MessageTemplate.objects.get(organisation=org, code="birthday_email")
    page.goto(page.base_url + f"/messages/templates/{email_template.pk}/?customer={her.pk}")
    preview = page.inner_text("[data-testid=template-preview]")
    assert f"{her.surname}女士，生日快乐！" in preview

    # The scheduler on her birthday: the daily pass enrols, the next tick's sender sends.
    out = io.StringIO()
    call_command("automation_tick", "--now", BIRTHDAY_MORNING, "--send", stdout=out)
    call_command("automation_tick", "--now", A_MINUTE_LATER, "--send", stdout=out)
    first = json.loads(out.getvalue().splitlines()[0])
    assert first["scheduler"]["offered"] == len(candidates)

    [coupon] = Coupon.objects.filter(customer=her)

    # The outbox screen lists her email as sent with the coupon code in it (the SMS, with no
    # channel set up, is listed too but not sent).
    page.goto(page.base_url + "/messages/")
    rows = page.locator("[data-testid=outbox] tbody tr", has_text=her.name)
    sent = page.locator("[data-testid=outbox] tbody tr[data-status=sent]", has_text=her.name)
    assert sent.count() == 1
    assert coupon.code in sent.inner_text()
    assert rows.count() == 2

    # The real SMTP server got exactly one mail for her, quoting the coupon.
    to_her = [m for m in box.messages if m["To"] == her.email]
    assert len(to_her) == 1
    assert coupon.code in to_her[0].get_content()
    assert "生日快乐" in str(to_her[0]["Subject"])

    # The coupon is in her account: the loyalty panel on her customer page.
    page.goto(page.base_url + f"/customers/{her.pk}/")
    panel = page.locator("[data-testid=loyalty-panel]")
    assert panel.locator(f"[data-testid=coupon-{coupon.code}]").count() == 1
    assert "生日礼券" in panel.inner_text() or coupon.code in panel.inner_text()

    # The results page counts every mail the server received and lists her.
    page.goto(page.base_url + f"/automation/{rule.pk}/")
    assert page.inner_text("[data-kpi=sent]").strip() == str(len(box.messages))
    assert her.name in page.inner_text("[data-testid=enrolments]")
