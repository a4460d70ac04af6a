"""Background jobs of the imports app: analysing and importing uploaded files, writing exports."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.imports.actions import run_import_job
from huitouke.imports.export_jobs import do_remove_old_exports, run_export_job


@db_task()
def run_import(job_id: int, analyse: bool = False) -> None:
    """Analyse (dry run with preview) or import one job's file, reporting progress as it goes."""
    run_import_job(job_id, analyse=analyse)


@db_task()
def run_export(job_id: int) -> None:
    """Write one export asked for on the screen, as its creator, reporting progress."""
    run_export_job(job_id)


@db_periodic_task(crontab(hour="20", minute="40"))
def remove_old_exports() -> None:
    """Delete export files older than EXPORT_KEEP_DAYS (04:40 in China)."""
    do_remove_old_exports()
