"""In the browser: the SOP engine's task in staff A's inbox, done with an outcome, on the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.followups.sop import run_sops
from tests.e2e.conftest import log_in
from tests.followups.conftest import make_task
from tests.helpers import PASSWORD, make_customer, make_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_completes_her_sop_task_and_sees_it_on_the_timeline(
    page,
    org,
    store1,
    staff_a,
    staff_b,
):
    customer = make_customer(org, name="陈静", gender="f", owner=staff_a, phone="13800138000")
    make_order(customer, store1, unit_price="1280", placed_at=timezone.now() - timedelta(minutes=5))
    run_sops(org)
    task = FollowUpTask.objects.get(customer=customer, rule__code="big_order")
    theirs = make_task(
        make_customer(org, name="别人的客户", owner=staff_b), staff_b, title="别人的任务"
    )

    log_in(page, "staff_a", PASSWORD)
    page.goto(page.base_url + "/tasks/")
    # Due within 24 hours of the order: tomorrow, so under "upcoming", one tap away.
    page.click("[data-testid=task-tabs] a[data-tab=upcoming]")
    row = page.locator(f"#task-{task.pk}")
    assert "陈女士您好" in row.inner_text()
    assert row.locator("a[href='tel:+8613800138000']").count() == 1
    assert "别人的任务" not in page.inner_text("main")
    row.locator("input[name=outcome]").fill("约好周六到店")
    row.locator("button[type=submit]", has_text="标记完成").click()
    page.wait_for_selector(f"#task-{task.pk} [data-testid=task-done]")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    page.goto(page.base_url + f"/customers/{customer.pk}/")
    assert "约好周六到店" in page.inner_text("[data-testid=timeline]")
    response = page.goto(page.base_url + f"/tasks/{theirs.pk}/")
    assert response.status == 404
