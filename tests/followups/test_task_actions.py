"""Completing a task writes the contact on the customer's timeline; skipping needs a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from huitouke.customers.models import Interaction, InteractionKind
from huitouke.followups import actions
from huitouke.followups.models import FollowUpTask, TaskKind, TaskStatus
from tests.followups.conftest import make_task
from tests.helpers import make_customer


def test_completing_a_call_writes_a_call_on_her_timeline(org, staff_a):
    customer = make_customer(org, name="陈静", gender="f", owner=staff_a)
    task = make_task(customer, staff_a, title="大单回访")
    done = actions.do_complete_task(task, actor=staff_a, outcome="周六来店")
    assert done.status == TaskStatus.DONE and done.completed_by == staff_a
    assert done.outcome == "周六来店" and done.completed_at is not None
    entry = Interaction.objects.get(customer=customer)
    assert (entry.kind, entry.staff, entry.note) == (
        InteractionKind.CALL,
        staff_a,
        "大单回访：周六来店",
    )
    assert done.interaction == entry
    assert entry.occurred_at == done.completed_at


@pytest.mark.parametrize(
    ("kind", "interaction"),
    [
        (TaskKind.WECHAT, InteractionKind.WECHAT),
        (TaskKind.VISIT, InteractionKind.VISIT),
        (TaskKind.CARD, InteractionKind.NOTE),
        (TaskKind.GIFT, InteractionKind.NOTE),
    ],
)
def test_each_kind_becomes_the_matching_contact(org, staff_a, kind, interaction):
    customer = make_customer(org, owner=staff_a)
    actions.do_complete_task(make_task(customer, staff_a, kind=kind), actor=staff_a)
    assert Interaction.objects.get(customer=customer).kind == interaction


def test_a_task_is_completed_once(org, staff_a):
    customer = make_customer(org, owner=staff_a)
    task = make_task(customer, staff_a)
    actions.do_complete_task(task, actor=staff_a, outcome="first")
    with pytest.raises(ValidationError, match="already closed"):
        actions.do_complete_task(task, actor=staff_a, outcome="second")
    with pytest.raises(ValidationError, match="already closed"):
        actions.do_skip_task(task, actor=staff_a, reason="late")
    assert Interaction.objects.filter(customer=customer).count() == 1
    assert FollowUpTask.objects.get(pk=task.pk).outcome == "first"


def test_the_interaction_and_the_status_change_commit_together(org, staff_a, monkeypatch):
    customer = make_customer(org, owner=staff_a)
    task = make_task(customer, staff_a)

    def broken(*args, **kwargs):
        raise RuntimeError("timeline unavailable")

    monkeypatch.setattr(actions, "do_add_interaction", broken)
    with pytest.raises(RuntimeError):
        actions.do_complete_task(task, actor=staff_a, outcome="x")
    assert FollowUpTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_skipping_needs_a_reason_and_writes_no_contact(org, staff_a):
    customer = make_customer(org, owner=staff_a)
    task = make_task(customer, staff_a)
    with pytest.raises(ValidationError, match="Say why"):
        actions.do_skip_task(task, actor=staff_a, reason="  ")
    skipped = actions.do_skip_task(task, actor=staff_a, reason="客户出国")
    assert (skipped.status, skipped.skip_reason) == (TaskStatus.SKIPPED, "客户出国")
    assert not Interaction.objects.filter(customer=customer).exists()


def test_manual_task_goes_to_the_customers_owner_with_a_rendered_script(org, staff_a, manager):
    customer = make_customer(org, name="李强", gender="m", owner=staff_a)
    due = timezone.now() + timedelta(days=1)
    task = actions.do_create_task(
        customer=customer,
        kind=TaskKind.VISIT,
        due_at=due,
        actor=manager,
        script_template="{{ salutation }}，周末见",
    )
    assert task.assignee == staff_a and task.script == "李先生，周末见"
    assert task.title == "Visit" and task.created_by == manager


def test_tasks_cannot_go_to_another_organisations_staff(org, staff_a, other_owner):
    customer = make_customer(org, owner=staff_a)
    with pytest.raises(ValidationError):
        actions.do_create_task(
            customer=customer,
            kind=TaskKind.CALL,
            due_at=timezone.now(),
            actor=staff_a,
            assignee=other_owner,
        )
    task = make_task(customer, staff_a)
    with pytest.raises(ValidationError):
        actions.do_reassign_task(task, assignee=other_owner, actor=staff_a)


def test_a_rendered_script_is_stored_as_given(org, staff_a):
    customer = make_customer(org, name="陈静", gender="f", owner=staff_a)
    task = actions.do_create_task(
        customer=customer,
        kind=TaskKind.WECHAT,
        due_at=timezone.now(),
        actor=None,
        script="陈女士，{{ 这不是模板 }}",
    )
    assert (task.assignee, task.script) == (staff_a, "陈女士，{{ 这不是模板 }}")
