"""Operations jobs: the worker's heartbeat (every minute) and the daily backup with rotation.

Huey's crontab is in UTC: 19:30 UTC is 03:30 in China, before the shop opens.
"""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, lock_task
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from huitouke.core.planner import refresh_planner_statistics
from huitouke.ops.actions import do_backup, do_beat
from huitouke.ops.metrics import count_job

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    """Prove to /readyz that a worker runs periodic jobs."""
    do_beat("worker")


@db_periodic_task(crontab(hour=settings.BACKUP_HOUR_UTC, minute="30"))
@lock_task("daily-backup")
def daily_backup() -> None:
    """Back up the database into HUITOUKE_BACKUP_DIR and rotate (on by default in embedded mode)."""
    if not settings.BACKUP_DAILY:
        return
    try:
        path = do_backup(rotate=True)
    except Exception:
        # Broad on purpose and re-raised: nothing is swallowed. A backup can fail in many ways
        # (disk full, permissions, the database's own backup API, a bug); whichever it is, the
        # log names the directory with the traceback, and huey records the failed job. The
        # owner sees the backup's age on the dashboard.
        log.exception("daily backup into %s failed", settings.BACKUP_DIR)
        raise
    log.info("daily backup written to %s", path)


@db_periodic_task(crontab(hour=settings.BACKUP_HOUR_UTC, minute="50"))
@lock_task("planner-statistics")
def planner_statistics() -> None:
    """Refresh SQLite's planner statistics daily, after the backup (core.planner)."""
    refresh_planner_statistics()


@HUEY.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)
def count_finished_job(signal: str, task: object, exc: BaseException | None = None) -> None:
    # Seen at /metrics when web and worker share PROMETHEUS_MULTIPROC_DIR on one host.
    count_job(getattr(task, "name", "?"), signal)
