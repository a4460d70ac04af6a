"""Member-centre housekeeping: expired sessions and old SMS codes are deleted (data minimisation).

Daily; idempotent and safe on two workers (plain conditional deletes).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from huitouke.members.actions import do_purge_expired


@db_periodic_task(crontab(hour="19", minute="20"))
def purge_expired() -> int:
    """Delete expired member sessions, and SMS codes older than a day (the limits look back 24 h)."""
    return do_purge_expired()
