"""Browser: connect WeCom (test ok), sync, see a customer's WeCom status, hand over, see results.

Screenshots of the three screens at 390×844 and 1366×900, in Chinese and English, go to
var/screenshots/wecom-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.wecom.models import WeComContact
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD
from tests.wecom.conftest import AES_KEY
from tests.wecom.standin import WeComStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "laptop": (1366, 900)}


def test_connect_sync_status_handover(
    page: Any,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
) -> None:
    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    standin.tag_groups = [
        {"group_id": "g", "group_name": "等级", "tag": [{"id": "t1", "name": "VIP"}]}
    ]
    for ext, name, answer in (
        ("wmYes", "陈静", "accept"),
        ("wmNo", "林小雨", "refuse"),
        ("wmWait", "王芳", "wait"),
    ):
        standin.add_contact(
            ext,
            name,
            {"ua": {"remark": name, "description": "喜欢玫瑰精油", "tag_id": ["t1"]}},
        )
        standin.transfer_answers[ext] = answer

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, owner.username, PASSWORD)
    page.goto(page.base_url + "/wecom/")
    page.fill("#id_corp_id", standin.corp_id)
    page.fill("#id_secret", standin.secret)
    page.fill("#id_token", "callback-token")
    page.fill("#id_aes_key", AES_KEY)
    page.click("form.stacked button[type=submit]")
    page.click("[data-testid=test-connection]")
    page.wait_for_selector("[data-testid=test-ok]")
    assert standin.secret not in page.content()

    page.click("[data-testid=sync]")
    page.wait_for_selector("[data-testid=sync-counts]")
    assert WeComContact.objects.count() == 3

    customer = WeComContact.objects.get(external_userid="wmNo").customer
    page.goto(f"{page.base_url}/customers/{customer.pk}/")
    page.wait_for_selector("[data-testid=wecom-panel]")
    assert "喜欢玫瑰精油" in page.inner_text("[data-testid=wecom-panel]")

    page.goto(page.base_url + "/accounts/handover/")
    page.select_option("#id_from_staff", str(staff_a.pk))
    page.check(f"input[name=to_staff][value='{staff_b.pk}']")
    page.click("form.stacked button[type=submit]")
    page.click("[data-testid=confirm-handover]")  # after seeing what will move
    page.wait_for_url(page.base_url + "/accounts/staff/")
    page.goto(page.base_url + "/wecom/transfers/")
    for status in ("moved", "refused", "waiting"):
        page.wait_for_selector(f"[data-testid=transfer-{status}]")
    assert errors == []

    SHOTS.mkdir(parents=True, exist_ok=True)
    screens = {
        "settings": "/wecom/",
        "customer": f"/customers/{customer.pk}/",
        "transfers": "/wecom/transfers/",
    }
    for lang in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
        for vp, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            for screen, path in screens.items():
                page.goto(page.base_url + path)
                # No horizontal scrolling at any width.
                assert page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth + 1"
                ), (screen, vp)
                page.screenshot(path=str(SHOTS / f"wecom-{screen}-{vp}-{lang}.png"), full_page=True)
