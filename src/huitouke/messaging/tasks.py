"""Messaging's background jobs: the outbox sender, every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from huitouke.messaging.outbox import send_due


@db_periodic_task(crontab(minute="*"))
def send_outbox() -> int:
    """Send due messages (safe on several workers at once: each message is claimed)."""
    return sum(send_due(budget_seconds=50).values())
