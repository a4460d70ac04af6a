"""In the browser: a segment built and saved, a member followed up, the outcome on her timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer, make_order

from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.segments.models import Segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEFINITION = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "net_spend", "op": "gte", "value": 1000}],
}


def other_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A second, separately logged-in browser context (another person's phone)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.base_url = base_url
    try:
        yield page
    finally:
        context.close()


def test_owner_segments_staff_follows_up_and_others_do_not_see_it(
    page, browser, org, store1, owner, staff_a, staff_b
):
    big = make_customer(org, name="陈静", gender="f", owner=staff_a, phone="13800138000")
    small = make_customer(org, name="王芳", gender="f", owner=staff_a)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    make_order(big, store1, unit_price="1280", placed_at=an_hour_ago)
    make_order(small, store1, unit_price="200", placed_at=an_hour_ago)

    # The owner builds the segment: JSON in the advanced box, the live count follows.
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/segments/new/")
    page.fill("#id_name", "高消费客户")
    page.click("details summary")
    page.fill("#id_definition", json.dumps(DEFINITION))
    page.dispatch_event("#id_definition", "change")
    # expect(), not wait_for_function: the CSP forbids the string eval that one uses.
    expect(page.locator("[data-testid=segment-count]")).to_have_text("1")
    with page.expect_navigation():
        page.click("#segment-form button[type=submit]")
    segment = Segment.objects.get(organisation=org, name="高消费客户")
    page.wait_for_url(page.base_url + f"/segments/{segment.pk}/")
    assert segment.definition["conditions"] == DEFINITION["conditions"]
    rows = page.inner_text("#rows")
    assert "陈静" in rows and "王芳" not in rows

    # From the segment to the member, then a follow-up task for her (assignee: her owner).
    page.click(f"#rows a[href='/customers/{big.pk}/']")
    page.wait_for_url(page.base_url + f"/customers/{big.pk}/")
    page.click(f"a[href='/tasks/new/?customer={big.pk}']")
    page.wait_for_url(page.base_url + f"/tasks/new/?customer={big.pk}")
    page.fill("#id_title", "回访：精华使用感受")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(page.base_url + f"/customers/{big.pk}/")
    task = FollowUpTask.objects.get(customer=big, title="回访：精华使用感受")
    assert task.assignee == staff_a
    assert task.status == TaskStatus.OPEN

    # Staff A completes it with an outcome in her inbox; it shows on the customer's timeline.
    for staff_page in other_page(browser, page.base_url):
        log_in(staff_page, "staff_a", PASSWORD)
        staff_page.goto(staff_page.base_url + "/tasks/")
        # The form's due time is tomorrow: under "upcoming", one tap away.
        staff_page.click("[data-testid=task-tabs] a[data-tab=upcoming]")
        row = staff_page.locator(f"#task-{task.pk}")
        assert "陈静" in row.inner_text()
        row.locator("input[name=outcome]").fill("她说周六来店复购")
        row.locator(f"form[action='/tasks/{task.pk}/complete/'] button[type=submit]").click()
        staff_page.wait_for_selector(f"#task-{task.pk} [data-testid=task-done]")
        staff_page.goto(staff_page.base_url + f"/customers/{big.pk}/")
        assert "她说周六来店复购" in staff_page.inner_text("[data-testid=timeline]")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.outcome == "她说周六来店复购"

    # Staff B has her own inbox: staff A's task is not in it, and its page is not hers.
    for other in other_page(browser, page.base_url):
        log_in(other, "staff_b", PASSWORD)
        other.goto(other.base_url + "/tasks/")
        assert other.locator(f"#task-{task.pk}").count() == 0
        assert "回访：精华使用感受" not in other.inner_text("main")
        response = other.goto(other.base_url + f"/tasks/{task.pk}/")
        assert response.status == 404
