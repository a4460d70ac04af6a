"""The task inbox on a 390×844 phone as staff: tabs, kinds, pages and counts; lists as cards.

Counts are computed here from the tasks the test made (not with the inbox's query): overdue
(open, due before now), today (open, due later today), upcoming (open, due after today), done
(closed). Another staff member's and another organisation's tasks must count nowhere.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from huitouke.followups.models import FollowUpTask, TaskKind, TaskStatus
from huitouke.segments.models import Segment
from tests.e2e.conftest import log_in
from tests.followups.conftest import make_task
from tests.helpers import PASSWORD, make_customer, make_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
KINDS = [TaskKind.CALL, TaskKind.WECHAT, TaskKind.VISIT]


@pytest.fixture
def inbox(org, other_org, store1, staff_a, staff_b, other_owner):
    now = timezone.now()
    tz = zoneinfo.ZoneInfo(org.time_zone)
    local_day = now.astimezone(tz).date()
    end_of_day = datetime.combine(local_day + timedelta(days=1), time.min, tzinfo=tz)
    customers = [make_customer(org, name=f"客户{i}", owner=staff_a) for i in range(5)]
    make_order(customers[0], store1, unit_price="299")
    made: dict[str, list[FollowUpTask]] = {"overdue": [], "today": [], "upcoming": [], "done": []}
    n = 0

    def add(tab: str, due: datetime, **extra: Any) -> None:
        nonlocal n
        task = make_task(
            customers[n % 5], staff_a, due_at=due, kind=KINDS[n % 3], title=f"{tab}-{n}", **extra
        )
        made[tab].append(task)
        n += 1

    for i in range(7):
        add("overdue", now - timedelta(hours=1 + i))
    later_today = now + (end_of_day - now) / 2  # strictly between now and midnight, local time
    for _ in range(3):
        add("today", later_today)
    for i in range(45):  # three pages of 20
        add("upcoming", end_of_day + timedelta(hours=2 + i))
    for i in range(4):
        status = TaskStatus.DONE if i % 2 else TaskStatus.SKIPPED
        add("done", now - timedelta(days=2), status=status, completed_at=now - timedelta(hours=i))
    # Not hers: a colleague's, and another shop's.
    make_task(
        make_customer(org, name="别人的客户", owner=staff_b),
        staff_b,
        due_at=now - timedelta(hours=1),
    )
    make_task(
        make_customer(other_org, name="外店客户"), other_owner, due_at=now - timedelta(hours=1)
    )
    return made


def _ids_on(page: Any) -> list[int]:
    return [
        int(x)
        for x in page.eval_on_selector_all("li[data-task]", "els => els.map(e => e.dataset.task)")
    ]


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_the_task_tabs_count_and_page_correctly(page, inbox):
    log_in(page, "staff_a", PASSWORD)
    page.goto(page.base_url + "/tasks/")
    for tab, tasks in inbox.items():
        assert page.inner_text(f"[data-testid={tab}-count]") == str(len(tasks)), tab
    # Today is the tab she lands on.
    assert sorted(_ids_on(page)) == sorted(t.pk for t in inbox["today"])
    _no_sideways_scroll(page)

    for tab, tasks in inbox.items():
        with page.expect_navigation():
            page.click(f"[data-testid=task-tabs] a[data-tab={tab}]")
        seen: list[int] = []
        while True:
            seen += _ids_on(page)
            _no_sideways_scroll(page)
            nxt = page.locator("[data-testid=task-pager] a[rel=next]")
            if not nxt.count():
                break
            with page.expect_navigation():
                nxt.click()
        assert sorted(seen) == sorted(t.pk for t in tasks), tab
        assert len(seen) == len(set(seen))
    # Upcoming in due order across its three pages.
    page.goto(page.base_url + "/tasks/?tab=upcoming&page=3")
    assert _ids_on(page) == [t.pk for t in inbox["upcoming"][40:]]

    # By kind: the tab's chips count each kind, and the tab badges follow the chosen kind.
    page.goto(page.base_url + "/tasks/?tab=upcoming")
    wechat = [t for t in inbox["upcoming"] if t.kind == TaskKind.WECHAT]
    chip = page.locator("[data-testid=task-kinds] a[data-kind=wechat]")
    assert chip.locator(".badge").inner_text() == str(len(wechat))
    with page.expect_navigation():
        chip.click()
    assert page.inner_text("[data-testid=upcoming-count]") == str(len(wechat))
    overdue_wechat = [t for t in inbox["overdue"] if t.kind == TaskKind.WECHAT]
    assert page.inner_text("[data-testid=overdue-count]") == str(len(overdue_wechat))
    assert sorted(_ids_on(page)) == sorted(t.pk for t in wechat)

    # Every tap target in the list, the tabs and the pager is at least 44 × 44 px.
    targets = page.locator(
        "li[data-task] .btn, li[data-task] a, li[data-task] summary, [data-testid=task-tabs] a,"
        " [data-testid=task-kinds] a, [data-testid=task-pager] a"
    ).all()
    assert len(targets) > 10
    for target in targets:
        if not target.is_visible():
            continue
        box = target.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, target.inner_text()


def test_lists_are_cards_on_a_phone_and_tables_on_a_laptop(page, inbox, org, staff_a):
    # Everyone: the segment's members are her five customers.
    everyone = Segment.objects.create(
        organisation=org, name="全部顾客", definition={"version": 1, "conditions": []}
    )
    log_in(page, "staff_a", PASSWORD)
    for path, cards in (
        ("/customers/", "customer-cards"),
        ("/sales/orders/", "order-cards"),
        (f"/segments/{everyone.pk}/", "customer-cards"),
    ):
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(page.base_url + path)
        assert page.locator(f"[data-testid={cards}]").is_visible(), path
        assert not page.locator("table").first.is_visible(), path
        items = page.locator(f"[data-testid={cards}] .item > a").all()
        assert items, path
        for item in items[:5]:  # the whole card is the tap target, at least 44 × 44 px
            box = item.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, path
        _no_sideways_scroll(page)
        page.set_viewport_size({"width": 1366, "height": 900})
        assert not page.locator(f"[data-testid={cards}]").is_visible()
        assert page.locator("table").first.is_visible()


def test_an_empty_list_says_what_to_do_next(page, org, staff_a):
    log_in(page, "staff_a", PASSWORD)
    for path in (
        "/tasks/",
        "/tasks/?tab=overdue",
        "/tasks/?tab=upcoming",
        "/tasks/?tab=done",
        "/sales/orders/",
        "/customers/",
        "/segments/",
    ):
        page.goto(page.base_url + path)
        empty = page.locator("[data-testid=empty]")
        assert empty.is_visible(), path
        button = empty.locator("a.btn").first
        assert button.bounding_box()["height"] >= 44, path
        href = button.get_attribute("href")
        assert page.request.get(
            page.base_url + href if href.startswith("/") else page.url.split("?")[0] + href
        ).ok, path


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_screenshots_of_the_lists(browser, live_server, inbox, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((390, 844), (1366, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.base_url = live_server.url
        log_in(page, "staff_a", PASSWORD)
        for name, path in (
            ("tasks", "/tasks/?tab=overdue"),
            ("customers", "/customers/"),
            ("orders", "/sales/orders/"),
        ):
            page.goto(page.base_url + path)
            _no_sideways_scroll(page)
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
        context.close()
