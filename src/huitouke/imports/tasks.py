"""Background jobs of the imports app: analysing and importing uploaded files in the worker."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from huitouke.imports.actions import run_import_job


@db_task()
def run_import(job_id: int, analyse: bool = False) -> None:
    """Analyse (dry run with preview) or import one job's file, reporting progress as it goes."""
    run_import_job(job_id, analyse=analyse)
