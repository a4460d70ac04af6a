"""Messaging's background jobs: the outbox sender, every minute and on demand."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.messaging.outbox import send_due


@db_periodic_task(crontab(minute="*"))
def send_outbox() -> int:
    """Send due messages (safe on several workers at once: each message is claimed)."""
    return sum(send_due(budget_seconds=50).values())


@db_task()
def send_outbox_now() -> int:
    """Send due messages right away (queued after a commit that added some)."""
    return sum(send_due().values())
