"""The owner's first hour, in the browser: `huitouke createowner` on an empty database, then the
setup from the shop's trade to a first imported customer and an automation switched on."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.utils import translation

from huitouke.accounts.models import Organisation
from huitouke.automation.models import AutomationRule
from huitouke.customers.models import Customer, CustomField
from huitouke.loyalty.models import LoyaltySettings, Tier
from huitouke.sales.models import Category, Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "first-hour-Setup-2026"
# The seed's order book (seed 000): one row per product, the day only.
ROWS = [
    ("王丽", "2026-03-05", "玻尿酸精华", 1, 298, "护肤品"),
    ("王丽", "2026-03-05", "补水面膜", 2, 60, "面膜"),
    ("陈静", "2026-04-11", "补水面膜", 1, 60, "面膜"),
]


def _createowner(username: str) -> None:
    """`huitouke createowner` as the owner types it, in its own process, on the test database."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    done = subprocess.run(
        [sys.executable, "-m", "huitouke", "createowner", username, "--password", PASSWORD],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["顾客姓名", "下单日期", "所购买的产品名称", "数量", "售价", "购买品类"])
    for name, day, product, qty, price, category in ROWS:
        sheet.append([name, dt.date.fromisoformat(day), product, qty, price, category])
    book.save(path)
    return path


def _shot(page: Any, name: str, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=str(SHOTS / f"onboarding-{name}-{lang}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_from_createowner_to_a_first_imported_customer_and_an_active_automation(
    page, huey_immediate, tmp_path, lang
):
    assert not Organisation.objects.exists()  # an empty database
    _createowner("laoban")
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])

    page.goto(page.base_url + "/login/")
    page.fill("#id_username", "laoban")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # The first sign-in of an empty shop opens the setup.
    page.wait_for_url(page.base_url + "/welcome/shop/")
    # In the language she chose: the page says so and its button reads in it.
    assert page.get_attribute("html", "lang").lower().startswith(lang[:2])
    with translation.override(lang):
        assert page.inner_text("[data-testid=next]") == translation.gettext("Save and continue")
    assert ("保存" in page.inner_text("[data-testid=next]")) == (lang == "zh-hans")
    _shot(page, "1-shop", lang)

    # 1. Name and trade: the archive template and the trade's categories with cycles.
    page.fill("#id_name", "丽人美妆")
    page.select_option("#id_industry", "cosmetics")
    page.click("[data-testid=next]")
    page.wait_for_url(page.base_url + "/welcome/customers/")
    org = Organisation.objects.get()
    assert (org.name, org.industry) == ("丽人美妆", "cosmetics")
    assert CustomField.objects.filter(organisation=org, template="cosmetics").exists()
    assert Category.objects.get(organisation=org, name="面膜").cycle_days == 30

    # Resumable: leaving and signing in again comes back to this step.
    page.goto(page.base_url + "/")
    page.wait_for_url(page.base_url + "/welcome/customers/")

    # 2. The Excel she keeps: checked, then imported.
    page.set_input_files("#id_file", str(_workbook(tmp_path / "订单.xlsx")))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=import-now]")
    _shot(page, "2-customers", lang)
    page.click("[data-testid=import-now]")
    page.wait_for_selector("[data-testid=import-job][data-status=done]")
    names = {name for name, *_rest in ROWS}
    assert set(Customer.objects.filter(organisation=org).values_list("name", flat=True)) == names
    # One visit is one order: 王丽's two rows of 2026-03-05 are one order.
    assert Order.objects.filter(organisation=org).count() == 2
    assert str(len(names)) in page.inner_text("[data-testid=customers-count]")
    page.click("[data-testid=next]")

    # 3. Tiers and points.
    page.wait_for_url(page.base_url + "/welcome/loyalty/")
    _shot(page, "3-loyalty", lang)
    page.fill("#id_points_per_yuan", "2")
    silver = Tier.objects.get(organisation=org, threshold=300)
    page.fill(f"#tier-{silver.pk}", "500")
    page.click("[data-testid=next]")
    page.wait_for_url(page.base_url + "/welcome/channel/")
    assert LoyaltySettings.objects.get(organisation=org).points_per_yuan == 2
    silver.refresh_from_db()
    assert silver.threshold == 500

    # 4. No SMS account yet: staff tasks.
    _shot(page, "4-channel", lang)
    page.check("input[name=choice][value=task]")
    page.click("[data-testid=next]")

    # 5. The recommended automation, switched on.
    page.wait_for_url(page.base_url + "/welcome/automation/")
    _shot(page, "5-automation", lang)
    assert page.is_checked("[data-testid=template-vip_birthday_card]")
    page.click("[data-testid=next]")
    page.wait_for_url(page.base_url + "/welcome/done/")
    assert page.get_attribute("html", "lang").lower().startswith(lang[:2])
    _shot(page, "6-done", lang)
    rule = AutomationRule.objects.get(organisation=org)
    assert rule.is_active and rule.template_code == "vip_birthday_card"
    assert rule.name in page.inner_text("[data-testid=active-rule]")
    org.refresh_from_db()
    assert org.onboarding_done_at is not None

    # Done: the dashboard opens, with the help link to the guide.
    page.click("[data-testid=to-dashboard]")
    page.wait_for_url(page.base_url + "/")
    page.click("[data-testid=help-link]")
    page.wait_for_url(page.base_url + "/guide/#dashboard")
    assert page.is_visible("#shop-kind")
    _shot(page, "guide", lang)


def test_every_step_can_be_skipped(page, tmp_path):
    _createowner("laoban")
    page.goto(page.base_url + "/login/")
    page.fill("#id_username", "laoban")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/welcome/shop/")
    page.click("[data-testid=skip-all]")
    page.wait_for_url(page.base_url + "/")
    assert Organisation.objects.get().onboarding_done_at is not None
    assert page.is_visible("[data-testid=empty-shop]")  # the empty shop still says what to do
