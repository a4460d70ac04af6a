"""Background jobs of the integrations app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from huitouke.integrations.idempotency import delete_expired


@db_periodic_task(crontab(minute="17"))
def delete_expired_idempotency_records() -> int:
    """Hourly: forget answers to Idempotency-Keys older than 24 hours."""
    return delete_expired()
