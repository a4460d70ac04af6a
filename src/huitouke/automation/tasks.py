"""Automation's background jobs: the scheduler tick, every minute and on demand.

Every tick is cheap once the day's pass is done (one query for the rules, one for their runs)
and safe on several workers at once (see engine.py).
"""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.automation.engine import run_scheduler


@db_periodic_task(crontab(minute="*"))
def run_automation() -> dict[str, Any]:
    """Evaluate time triggers (once per local day) and act on due enrolments."""
    # Work through a large backlog (a festival for every customer) within the minute.
    return run_scheduler(budget_seconds=50)


@db_task()
def run_automation_now() -> dict[str, Any]:
    """The same tick, queued right after an event enrolled someone with no delay."""
    return run_scheduler()
