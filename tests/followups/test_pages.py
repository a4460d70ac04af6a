"""Task screens render for each role in both languages; HTMX gets fragments, plain posts redirect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from huitouke.customers.models import Interaction
from huitouke.followups.defaults import ensure_default_rules
from huitouke.followups.models import FollowUpTask, SopRule, TaskStatus
from tests.followups.conftest import make_task
from tests.helpers import make_customer

LANGS = ["zh-hans", "en"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("persona", ["owner", "manager", "staff_a"])
def test_task_pages_render_for_every_role(client, request, org, persona, lang):
    user = request.getfixturevalue(persona)
    customer = make_customer(org, name="陈静", gender="f", owner=user, phone="13812341234")
    task = make_task(customer, user, script="陈女士您好，周末有空吗？")
    make_task(customer, user, due_at=timezone.now() - timedelta(hours=3), title="逾期回访")
    client.force_login(user)
    headers = {"HTTP_ACCEPT_LANGUAGE": lang}
    # The task is due in a day: "today" or "upcoming" depending on the hour; look at both.
    pages = [
        client.get(reverse("followups:inbox") + f"?tab={tab}", **headers)
        for tab in ("today", "upcoming")
    ]
    assert [p.status_code for p in pages] == [200, 200]
    html = "".join(p.content.decode() for p in pages)
    assert 'href="tel:+8613812341234"' in html
    assert 'data-copy="陈女士您好，周末有空吗？"' in html and "逾期回访" not in html
    overdue = client.get(reverse("followups:inbox") + "?tab=overdue", **headers).content.decode()
    assert "逾期回访" in overdue and 'data-testid="overdue-count">1<' in overdue
    assert f'<html lang="{lang}">' in html
    assert ("我的任务" in html) if lang == "zh-hans" else ("My tasks" in html)
    assert client.get(reverse("followups:detail", args=[task.pk]), **headers).status_code == 200
    new = client.get(reverse("followups:create") + f"?customer={customer.pk}", **headers)
    assert new.status_code == 200
    manager_only = ["followups:team", "followups:rules", "followups:results"]
    expected = 403 if persona == "staff_a" else 200
    for name in manager_only:
        assert client.get(reverse(name), **headers).status_code == expected, name
    if persona != "staff_a":
        rule = SopRule.objects.filter(organisation=org).first()
        assert (
            client.get(reverse("followups:rule_edit", args=[rule.pk]), **headers).status_code == 200
        )
        results = client.get(reverse("followups:results") + "?sort=overdue&dir=asc", **headers)
        assert 'id="staff-chart-data"' in results.content.decode()
    rule_create = client.get(reverse("followups:rule_create"), **headers).status_code
    assert rule_create == (200 if persona == "owner" else 403)


def test_htmx_done_returns_the_row_and_writes_the_timeline(client, org, staff_a):
    customer = make_customer(org, owner=staff_a)
    task = make_task(customer, staff_a)
    client.force_login(staff_a)
    response = client.post(
        reverse("followups:complete", args=[task.pk]),
        {"outcome": "约了周六"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith(
        f'<li class="card task" id="task-{task.pk}"'
    )
    assert 'data-testid="task-done"' in html and "<html" not in html
    assert Interaction.objects.get(customer=customer).note.endswith("约了周六")


def test_plain_form_posts_redirect_back(client, org, staff_a):
    customer = make_customer(org, owner=staff_a)
    done, skipped = make_task(customer, staff_a), make_task(customer, staff_a)
    client.force_login(staff_a)
    response = client.post(reverse("followups:complete", args=[done.pk]), {"outcome": ""})
    assert response.status_code == 302 and response["Location"] == reverse("followups:inbox")
    response = client.post(
        reverse("followups:skip", args=[skipped.pk]),
        {"reason": "出国", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("followups:inbox")
    statuses = set(FollowUpTask.objects.values_list("status", flat=True))
    assert statuses == {TaskStatus.DONE, TaskStatus.SKIPPED}


def test_skip_without_reason_shows_the_error_in_the_row(client, org, staff_a):
    task = make_task(make_customer(org, owner=staff_a), staff_a)
    client.force_login(staff_a)
    response = client.post(
        reverse("followups:skip", args=[task.pk]), {"reason": ""}, HTTP_HX_REQUEST="true"
    )
    assert 'role="alert"' in response.content.decode()
    assert FollowUpTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_owner_edits_a_built_in_rule_and_creates_one(client, org, owner):
    ensure_default_rules(org)
    rule = SopRule.objects.get(organisation=org, code="big_order")
    client.force_login(owner)
    form = {
        "name": "大单回访",
        "is_active": "on",
        "trigger": "customer_created",  # ignored: a built-in keeps its trigger
        "threshold": "2000",
        "delay_hours": "12",
        "kind": "wechat",
        "assign_to": "customer_owner",
        "script_template": "{{ salutation }}您好",
    }
    response = client.post(reverse("followups:rule_edit", args=[rule.pk]), form)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.trigger, rule.threshold, rule.delay_hours, rule.kind) == (
        "order_paid_over",
        2000,
        12,
        "wechat",
    )
    bad = client.post(
        reverse("followups:rule_edit", args=[rule.pk]),
        {**form, "script_template": "{% load x %}"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 200 and "cannot be used" in bad.content.decode()
    new = {
        **form,
        "name": "30天未到店",
        "trigger": "days_after_event",
        "event": "last_order",
        "days": "30",
    }
    assert client.post(reverse("followups:rule_create"), new).status_code == 302
    assert SopRule.objects.filter(organisation=org, name="30天未到店", code="").exists()


def test_dashboard_block_counts_my_overdue_and_today(org, staff_a, manager):
    customer = make_customer(org, owner=staff_a)
    make_task(customer, staff_a, due_at=timezone.now() - timedelta(hours=1))
    make_task(customer, staff_a, due_at=timezone.now() - timedelta(days=2))
    request = RequestFactory().get("/")
    request.user = staff_a
    html = Template("{% load followups %}{% dashboard_tasks %}").render(
        Context({"request": request})
    )
    assert 'data-testid="dashboard-overdue">2 overdue' in html
    request.user = manager
    html = Template("{% load followups %}{% dashboard_tasks %}").render(
        Context({"request": request})
    )
    assert "Team: 2 overdue" in html


def test_manual_task_from_a_customer_page(client, org, store1, manager, staff_a):
    customer = make_customer(org, name="陈静", gender="f", owner=staff_a, home_store=store1)
    client.force_login(manager)
    url = reverse("followups:create") + f"?customer={customer.pk}"
    response = client.post(
        url,
        {
            "customer": customer.pk,
            "kind": "visit",
            "due_at": "2030-05-01T10:00",
            "script": "{{ salutation }}好",
        },
    )
    assert response.status_code == 302
    task = FollowUpTask.objects.get(customer=customer)
    assert (task.assignee, task.kind, task.script) == (staff_a, "visit", "陈女士好")
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2030-05-01 10:00"
    # A customer outside the user's scope cannot get a task this way.
    client.force_login(staff_a)
    other = make_customer(org, name="别人")
    assert client.get(reverse("followups:create") + f"?customer={other.pk}").status_code == 404
