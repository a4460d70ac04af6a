"""Follow-up fixtures: fast passwords, in-process Huey, and plain helpers for tasks and rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.followups.models import FollowUpTask, TaskKind


def make_task(
    customer: Customer,
    assignee: Any,
    *,
    due_at: datetime | None = None,
    kind: str = TaskKind.CALL,
    title: str = "回访",
    script: str = "陈女士您好",
    **extra: Any,
) -> FollowUpTask:
    """A task written directly (the engine and actions are tested on their own)."""
    return FollowUpTask.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        assignee=assignee,
        kind=kind,
        title=title,
        due_at=due_at or timezone.now() + timedelta(hours=2),
        script=script,
        **extra,
    )
