"""Background jobs of the integrations app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.integrations.idempotency import delete_expired
from huitouke.integrations.webhooks import send_due


@db_periodic_task(crontab(minute="17"))
def delete_expired_idempotency_records() -> int:
    """Hourly: forget answers to Idempotency-Keys older than 24 hours."""
    return delete_expired()


@db_task()
def send_webhooks_now() -> int:
    """Send due webhook deliveries right away (queued after a commit that added some)."""
    return sum(send_due().values())


@db_periodic_task(crontab(minute="*"))
def send_webhooks() -> int:
    """Every minute: retries whose back-off has passed, and anything a worker left behind."""
    return sum(send_due().values())
