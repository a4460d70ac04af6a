"""The WeCom screens pass the walk's checks: axe-core (serious, critical), language, no code on screen.

The walk (tests/e2e/test_walk.py) reaches /wecom/ only on an unconnected shop, so the member
mapping (on the settings page), the handover results and a WeCom customer's panel were never checked. Here a connected
shop is synced and handed over first, then each of those screens is visited by the walk's own
checker (tests/e2e/walker.py) as the owner, at 390 and 1366 px, in Chinese and English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from huitouke.accounts.models import User
from huitouke.customers.ownership import do_hand_over_customers
from huitouke.wecom.models import WeComConnection, WeComContact, WeComMember, WeComTransfer
from huitouke.wecom.sync import do_sync_contacts
from tests.e2e.conftest import log_in
from tests.e2e.walker import Walk
from tests.helpers import PASSWORD
from tests.wecom.standin import WeComStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.NODE_MODULES) / "axe-core" / "axe.min.js"


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_wecom_screens_pass_the_walk_checks(
    browser: Any,
    live_server: Any,
    standin: WeComStandIn,
    connection: WeComConnection,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
    lang: str,
) -> None:
    assert AXE.exists(), f"{AXE} missing: npm install (axe-core is in package.json)"
    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    standin.add_member("uc", "未对应的成员", mobile="13700000003")  # a member with no staff
    standin.tag_groups = [
        {"group_id": "g", "group_name": "等级", "tag": [{"id": "t1", "name": "VIP"}]}
    ]
    for ext, name, answer in (("wmYes", "陈静", "accept"), ("wmNo", "林小雨", "refuse")):
        standin.add_contact(
            ext,
            name,
            {"ua": {"remark": name, "description": "喜欢玫瑰精油", "tag_id": ["t1"]}},
        )
        standin.transfer_answers[ext] = answer
    standin.add_contact("wmWait", "王芳", {"ua": {"remark": "王芳"}})
    standin.transfer_answers["wmWait"] = "wait"
    do_sync_contacts(connection, actor=owner)
    do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    assert WeComTransfer.objects.count() == 3  # moved, refused, waiting: every row kind shown
    customer = WeComContact.objects.get(external_userid="wmNo").customer
    # The settings page holds the member mapping (a select per member, unmapped "uc" included).
    assert WeComMember.objects.get(userid="uc").staff_id is None
    paths = [
        "/wecom/",
        "/wecom/transfers/",
        f"/customers/{customer.pk}/",
    ]

    # bypass_csp: axe is injected as an inline script (as in the walk); CSP is tested elsewhere.
    context = browser.new_context(
        locale="zh-CN" if lang == "zh-hans" else "en-US",
        viewport={"width": 390, "height": 844},
        bypass_csp=True,
    )
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    try:
        page = context.new_page()
        page.base_url = live_server.url
        log_in(page, owner.username, PASSWORD)
        page.close()
        walk = Walk(
            context,
            live_server.url,
            owner.username,
            lang,
            AXE,
            widths=(390, 1366),
            max_depth=0,  # these pages only
            data_words=frozenset({"VIP"}),
        )
        walk.run([live_server.url + p for p in paths])
        # What was checked is what the issue asks for: every transfer result, the mapping form.
        page = context.new_page()
        page.goto(live_server.url + "/wecom/transfers/")
        for status in ("moved", "refused", "waiting"):
            assert page.locator(f"[data-testid=transfer-{status}]").count() == 1, status
        page.goto(live_server.url + "/wecom/")
        assert page.locator("select[name=staff]").count() == 3  # ua, ub and the unmapped uc
        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        assert page.locator("[data-testid=wecom-panel]").count() == 1
    finally:
        context.close()
    assert len(walk.visited) == len(paths), walk.visited
    assert not walk.problems, f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems)
