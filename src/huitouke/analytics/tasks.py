"""Background jobs of the analytics app: the nightly refresh and a refresh on demand.

Huey's crontab runs in UTC while each organisation has its own time zone, so a tick every 15
minutes refreshes each organisation once its local clock has passed 02:30 (jobs.NIGHTLY_AT)
and it has no result for its local today. Two workers ticking at once are harmless: the
refresh claims the organisation first.
"""

from __future__ import annotations

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.accounts.models import Organisation
from huitouke.analytics.jobs import refresh_due_organisations, refresh_organisation


@db_periodic_task(crontab(minute="*/15"))
def nightly_refresh() -> list[int]:
    """Refresh every organisation whose local time has passed 02:30 and is not yet done today."""
    return refresh_due_organisations()


@db_task()
def refresh_organisation_task(organisation_id: int, as_of: str | None = None) -> int | None:
    """Refresh one organisation now (as of an ISO date, default its today); the run's id."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        return None
    run = refresh_organisation(organisation, dt.date.fromisoformat(as_of) if as_of else None)
    return run.pk if run else None
