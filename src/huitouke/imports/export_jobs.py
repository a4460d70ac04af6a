"""Every write of an export asked for on the screen: queue it, run it in the worker, clean up.

A synchronous export of a large shop outlived gunicorn's 30 s timeout, so the screen only queues
an ExportJob (`do_request_export`) and the worker writes the file (`run_export_job`, from
tasks.run_export) with its creator's scope, her phone rule and her language, reporting progress
on the job row as it goes. Only the creator may download it; the daily clean-up
(`do_remove_old_exports`) deletes files older than EXPORT_KEEP_DAYS.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from huitouke.accounts.models import Role
from huitouke.audit.models import AuditEntry
from huitouke.core.tasks import enqueue_on_commit
from huitouke.imports.exports import FORMATS, KINDS, ExportError, do_export
from huitouke.imports.models import ExportJob, ExportStatus, exports_dir

log = logging.getLogger(__name__)


def may_export(user: Any) -> bool:
    """Exports carry every phone number the exporter may see: owners only, as on the screen."""
    return bool(
        user is not None
        and user.is_active
        and user.role == Role.OWNER
        and user.organisation_id is not None
    )


def do_request_export(
    *,
    actor: Any,
    kind: str,
    fmt: str,
    lang: str | None = None,
    segment: int | None = None,
    language: str = "zh-hans",
) -> ExportJob:
    """Queue an export of `kind` as `fmt` for `actor`; the worker writes it after the commit.

    `lang="en"` asks for the machine-readable form; otherwise the people's form is written in
    `language` (the creator's when she asked). ExportError for an export that cannot be made.
    """
    if not may_export(actor):
        raise ExportError(_("Only the shop's owner can export."))
    if kind not in KINDS:
        raise ExportError(_("Export customers or orders."))
    if fmt not in FORMATS:
        raise ExportError(_("Export to a .csv or .xlsx file."))
    if segment is not None and kind != "customers":
        raise ExportError(_("Only customers can be exported by segment."))
    job = ExportJob.objects.create(
        organisation_id=actor.organisation_id,
        created_by=actor,
        kind=kind,
        format=fmt,
        lang="en" if lang == "en" else "",
        language=language[:10],
        segment_id=segment,
    )
    enqueue_on_commit("huitouke.imports.tasks.run_export", job.pk)
    return job


def _claim(job_id: int) -> ExportJob | None:
    # A conditional update: a job queued twice (a retried task) runs once.
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("created_by", "organisation").get(pk=job_id)


def _fail(job: ExportJob, message: str) -> None:
    job.status, job.message, job.finished_at = ExportStatus.FAILED, message, timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=job.status, message=message, finished_at=job.finished_at
    )


def run_export_job(job_id: int) -> ExportJob | None:
    """Write job `job_id`'s file as its creator (the worker's side); None if it was not queued.

    The export runs with the creator's scope and phone rule, in the language she used, and is
    audited as hers by do_export. A creator who may no longer export gets a failed job.
    """
    job = _claim(job_id)
    if job is None:
        return None
    creator = job.created_by
    with override(job.language):
        if (
            creator is None
            or not may_export(creator)
            or creator.organisation_id != job.organisation_id
        ):
            _fail(job, _("Whoever asked for this export may no longer export."))
            return job
        name = f"export-{job.pk}-{secrets.token_hex(8)}.{job.format}"
        final = exports_dir() / name
        partial = final.with_name(name + ".part")

        def progress(done: int, total: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(progress_done=done, progress_total=total)

        try:
            count = do_export(
                partial,
                kind=job.kind,
                fmt=job.format,
                organisation=job.organisation,
                actor=creator,
                segment=job.segment_id,
                lang="en" if job.lang == "en" else None,
                progress=progress,
                job=job.pk,
            )
        except ExportError as exc:
            partial.unlink(missing_ok=True)
            _fail(job, str(exc))
            return job
        except Exception:
            # Broad on purpose and re-raised: whatever went wrong (a disk error, a bug), the job
            # must not stay "running" for ever on its page, and its half-written file goes.
            partial.unlink(missing_ok=True)
            log.exception("export job %s failed", job.pk)
            _fail(job, _("The export failed; try again, and tell us if it fails again."))
            raise
        os.replace(partial, final)
    entry_what = _what_of(job)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        row_count=count,
        file_name=name,
        size=final.stat().st_size,
        what=entry_what,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _what_of(job: ExportJob) -> str:
    # The audit entry do_export just wrote names the export; the job shows the same words.
    what = (
        AuditEntry.objects.filter(
            organisation_id=job.organisation_id, action="export", detail__job=job.pk
        )
        .values_list("object_repr", flat=True)
        .first()
    )
    return (what or "")[:300]


def do_remove_old_exports(now: datetime | None = None) -> int:
    """Delete the files of exports finished more than EXPORT_KEEP_DAYS ago; their jobs stay as
    "removed". Also sweeps files no job points at any more. Returns the number of files removed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPORT_KEEP_DAYS)
    removed = 0
    old = ExportJob.objects.filter(
        Q(status=ExportStatus.DONE) | Q(status=ExportStatus.FAILED), finished_at__lt=cutoff
    )
    for job in old:
        if job.path is not None and job.path.exists():
            job.path.unlink()
            removed += 1
    old.update(status=ExportStatus.EXPIRED, file_name="")
    known = set(
        ExportJob.objects.exclude(file_name="").values_list("file_name", flat=True).iterator()
    )
    for path in exports_dir().iterdir():
        stale = path.stat().st_mtime < cutoff.timestamp()
        if path.is_file() and path.name not in known and stale:
            path.unlink()
            removed += 1
    return removed
