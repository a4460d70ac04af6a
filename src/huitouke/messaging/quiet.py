"""Quiet hours: a message due inside them waits until they end (postponed, never dropped)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in [start, end); the window may cross midnight."""
    if start == end:
        return False  # an empty window: no quiet hours
    if start < end:
        return start <= local < end
    return local >= start or local < end


def postpone(at: datetime, start: time | None, end: time | None, tz: ZoneInfo) -> datetime:
    """`at` itself outside quiet hours, else the moment the quiet hours end (local time)."""
    if start is None or end is None:
        return at
    local = at.astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return at
    day = local.date()
    # Before `end` on the same day (the early-morning part of a window crossing midnight, or a
    # daytime window): it ends today; otherwise tomorrow.
    if local.time() >= end:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)
