"""Template helpers of the task screens."""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.followups import queries
from huitouke.followups.models import FollowUpTask

register = template.Library()


@register.simple_tag(takes_context=True)
def task_phone(context: Any, task: FollowUpTask) -> dict[str, str]:
    """{"tel": number for a tel: link or "", "shown": the number as this user may see it}."""
    tel, shown = queries.task_phone(context["request"].user, task)
    return {"tel": tel, "shown": shown}


@register.filter
def percent(value: float | None) -> str:
    """0.256 -> "25.6%"; None -> "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def hours(value: float | None) -> str:
    """3.25 -> "3.3"; None -> "—"."""
    return "—" if value is None else f"{value:.1f}"


@register.filter
def share(result: Any, stage: str) -> float | None:
    """A StaffResult's share of customers in a lifecycle stage."""
    return result.share(stage)  # type: ignore[no-any-return]


@register.inclusion_tag("followups/_dashboard_tasks.html", takes_context=True)
def dashboard_tasks(context: Any) -> dict[str, Any]:
    """The dashboard's reminder block for the signed-in user."""
    request = context["request"]
    return {"followups": queries.dashboard_tasks(request.user), "request": request}
