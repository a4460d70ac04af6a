"""API shapes of follow-up tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Schema

from huitouke.followups.models import FollowUpTask, TaskKind, TaskStatus
from huitouke.schemas import ObjectId, Text


class TaskOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    assignee_id: int | None
    kind: TaskKind
    title: str
    due_at: datetime
    overdue: bool
    script: str
    status: TaskStatus
    skip_reason: str
    outcome: str
    completed_at: datetime | None
    rule_id: int | None

    @staticmethod
    def resolve_customer_name(obj: FollowUpTask) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_overdue(obj: FollowUpTask) -> bool:
        return obj.is_overdue(timezone.now())


class TaskFilters(Schema):
    """Which tasks to list: by default the caller's own open and closed tasks."""

    mine: bool = Field(True, description="Only tasks assigned to me; false: all I may see.")
    status: TaskStatus | None = None
    when: Literal["overdue", "today", "upcoming"] | None = Field(
        None, description="Open tasks past due, due later today, or due after today."
    )
    assignee_id: ObjectId | None = None
    customer_id: ObjectId | None = None


class CompleteIn(Schema):
    outcome: Annotated[Text, Field(max_length=2000)] = ""


class SkipIn(Schema):
    reason: Annotated[Text, Field(min_length=1, max_length=200)]
