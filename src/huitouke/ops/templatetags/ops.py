"""`{% backup_status %}`: the owner's line on the dashboard about the last backup."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from huitouke.ops.health import last_backup_age

register = template.Library()


@register.inclusion_tag("ops/_backup_status.html", takes_context=True)
def backup_status(context: dict[str, Any]) -> dict[str, Any]:
    user = getattr(context.get("request"), "user", None)
    if getattr(user, "role", "") != "owner":
        return {"show": False}
    age = last_backup_age()
    warn_days = settings.BACKUP_WARN_AFTER_DAYS
    return {
        "show": True,
        "never": age is None,
        "age_days": None if age is None else age.days,
        "age_hours": None if age is None else int(age.total_seconds() // 3600),
        "stale": age is None or age.total_seconds() > warn_days * 86400,
        "warn_days": warn_days,
        "daily": settings.BACKUP_DAILY,
    }
