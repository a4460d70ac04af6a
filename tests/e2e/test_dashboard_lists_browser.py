"""The dashboard lists in a browser, on the hand-built shop of tests/analytics/test_dashboard_lists.

The right answers are worked out there by hand: 戊, 乙, 丙 turn silent within 14 days (by value),
甲 only in 15 days and 丁 is silent already; 面膜 + 精华 is the one category pair with lift > 1
in enough orders (lift 6·20/(12·7), support 6/20), 面膜 + 口红 has lift 0.42 and 洗发水 + 护发素
one order only; the repurchase rate is 6/14. Each rate carries its one line from
docs/definitions.md, visible on a phone too, in the user's language.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.analytics.test_dashboard_lists import shop  # noqa: F401  (the fixture)
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIFT = 6 * 20 / (12 * 7)
SUPPORT = 6 / 20


@pytest.mark.parametrize(
    ("width", "height", "lang"),
    [(1366, 900, "zh-hans"), (390, 844, "zh-hans"), (1366, 900, "en")],
    ids=["desktop-zh", "phone-zh", "desktop-en"],
)
def test_the_lists_say_what_they_claim(
    browser: Any,
    live_server: Any,
    owner: Any,
    shop: Any,  # noqa: F811
    width: int,
    height: int,
    lang: str,
) -> None:
    context = browser.new_context(
        locale="zh-CN" if lang == "zh-hans" else "en-US",
        viewport={"width": width, "height": height},
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.base_url = live_server.url
        check_lists(page, owner, width, lang)
    finally:
        context.close()


def check_lists(page: Any, owner: Any, width: int, lang: str) -> None:
    log_in(page, owner.username, PASSWORD)
    page.goto(page.base_url + "/")

    silent = page.get_by_test_id("turning-silent")
    names = silent.locator(".act-row .who a").all_inner_texts()
    assert names == ["戊", "乙", "丙"], names  # by value; 甲 (15 days) and 丁 (silent) are not
    lines = [t for t in silent.locator("p").all_inner_texts() if t.startswith(("戊", "乙", "丙"))]
    days = ["6", "14", "1"]
    for line, n in zip(lines, days, strict=True):
        assert (f"{n} 天" in line) if lang == "zh-hans" else (f"silent in {n} day" in line), line

    repurchase = page.get_by_test_id("kpi-repurchase_rate").inner_text().strip()
    assert repurchase == f"{6 / 14:.1%}"
    hints = {
        key: page.get_by_test_id(f"kpi-hint-{key}")
        for key in ("repurchase_rate", "second_purchase_rate")
    }
    for hint in hints.values():
        assert hint.is_visible()
        box = hint.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
    if lang == "zh-hans":
        assert hints["repurchase_rate"].inner_text() == (
            "本期购买客户中，本期下单至少两次的比例（按到店次数，不按件数）。"
        )
        assert hints["second_purchase_rate"].inner_text() == (
            "首单在 2026-03-03 – 2026-04-01 的客户中，90 天内再次购买的比例。"
        )
    else:
        assert hints["repurchase_rate"].inner_text() == (
            "Share of the period's buyers who ordered at least twice in it (visits, not items)."
        )
        assert hints["second_purchase_rate"].inner_text() == (
            "Of the customers whose first order fell in 2026-03-03 – 2026-04-01, "
            "the share who ordered again within 90 days."
        )

    page.goto(page.base_url + "/analytics/")
    baskets = page.get_by_test_id("baskets")
    categories, products = baskets.locator("table").all()
    rows = [r.locator("td").all_inner_texts() for r in categories.locator("tbody tr").all()]
    assert [r[0] for r in rows] == ["面膜 + 精华"], rows
    _pair, orders, support, _confidence, lift = rows[0]
    assert (orders, support, lift) == ("6", f"{SUPPORT:.1%}", f"{LIFT:.2f}")
    for table in (categories, products):
        for row in table.locator("tbody tr").all():
            cells = row.locator("td").all_inner_texts()
            if len(cells) == 5:  # not the "no pairs" line
                assert float(cells[4]) > 1, cells
                assert int(cells[1]) >= 2, cells
    text = baskets.inner_text()
    assert "面膜 + 口红" not in text  # lift 0.42
    assert "洗发水 + 护发素" not in text
    assert page.get_by_test_id("pair-rule").is_visible()
