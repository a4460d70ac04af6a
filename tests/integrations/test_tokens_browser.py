"""Browser: create a till token on the settings page, use it, see its use count and last use.

Screenshots of the token list at 390×844 and 1366×900, in Chinese and English, go to
var/screenshots/tokens-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from huitouke.accounts.models import User
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "laptop": (1366, 900)}


def test_create_use_and_see_a_token(page: Any, owner: User) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, owner.username, PASSWORD)
    page.goto(page.base_url + "/accounts/settings/")
    page.fill("input[name=name]", "收银台 1")
    page.select_option("select[name=scope]", "pos")
    page.click('form[action$="/tokens/"] button')
    raw = page.inner_text("[data-testid=new-token]").strip()
    assert raw.startswith("htk_")
    for _ in range(4):
        answer = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert answer.status_code == 200
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, used in (("zh-hans", "已使用 4 次"), ("en", "used 4 times")):
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
        for vp, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(page.base_url + "/accounts/settings/")
            assert used in page.inner_text("[data-testid=token]")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            page.screenshot(path=str(SHOTS / f"tokens-{vp}-{lang}.png"), full_page=True)
    assert errors == []
