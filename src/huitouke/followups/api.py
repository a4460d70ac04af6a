"""API: the caller's follow-up tasks, closing them; always within `FollowUpTask.objects.visible_to`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from huitouke.accounts.auth import api_user
from huitouke.followups.actions import do_complete_task, do_skip_task
from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.followups.queries import day_bounds, get_task_for, local_today
from huitouke.followups.schemas import CompleteIn, SkipIn, TaskFilters, TaskOut
from huitouke.schemas import ObjectId, Page, Paging, page_of

router = Router(tags=["tasks"])


def _filtered(request: HttpRequest, filters: TaskFilters) -> QuerySet[FollowUpTask]:
    user = api_user(request)
    qs = FollowUpTask.objects.visible_to(user).select_related("customer")
    if filters.mine:
        qs = qs.filter(assignee=user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.assignee_id:
        qs = qs.filter(assignee_id=filters.assignee_id)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.when:
        now = timezone.now()
        _start, end = day_bounds(user, local_today(user, now))
        qs = qs.filter(status=TaskStatus.OPEN)
        if filters.when == "overdue":
            qs = qs.filter(due_at__lt=now)
        elif filters.when == "today":
            qs = qs.filter(due_at__gte=now, due_at__lt=end)
        else:
            qs = qs.filter(due_at__gte=end)
    return qs.order_by("due_at", "id")


@router.get("/tasks", response=Page[TaskOut])
def list_tasks(
    request: HttpRequest, filters: Query[TaskFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """My follow-up tasks (or, with mine=false, all I may see), soonest due first."""
    return page_of(_filtered(request, filters), paging)


@router.get("/tasks/{task_id}", response=TaskOut)
def get_task(request: HttpRequest, task_id: ObjectId) -> FollowUpTask:
    """One task with its script."""
    return get_task_for(api_user(request), task_id)


@router.post("/tasks/{task_id}/complete", response=TaskOut)
def complete_task(request: HttpRequest, task_id: ObjectId, payload: CompleteIn) -> FollowUpTask:
    """Mark the task done with an outcome; the contact goes on the customer's timeline."""
    user = api_user(request)
    task = get_task_for(user, task_id)
    return do_complete_task(task, actor=user, outcome=payload.outcome)


@router.post("/tasks/{task_id}/skip", response=TaskOut)
def skip_task(request: HttpRequest, task_id: ObjectId, payload: SkipIn) -> FollowUpTask:
    """Close the task without doing it, saying why."""
    user = api_user(request)
    task = get_task_for(user, task_id)
    return do_skip_task(task, actor=user, reason=payload.reason)
