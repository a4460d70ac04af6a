"""Every write of the imports app: run an import, and the steps of an import job in the web UI.

`do_commit_import` is the one entry point for the CLI, the worker and tests. A job goes
analysing (a dry run: preview, counts, errors, payers) → ready → queued → running → done /
failed / cancelled; the worker runs the slow parts (tasks.py).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.core.planner import refresh_planner_statistics
from huitouke.customers.models import Customer
from huitouke.imports.engine import DEFAULT_CHUNK, Importer
from huitouke.imports.models import (
    ImportFormat,
    ImportJob,
    ImportKind,
    ImportMode,
    ImportStatus,
    PayerAlias,
    imports_dir,
)
from huitouke.imports.readers import UPLOAD_LIMITS, Format, WorkbookLimits
from huitouke.imports.reports import error_dicts
from huitouke.imports.rows import Kind
from huitouke.imports.summary import ALL_OR_NOTHING, ImportSummary

log = logging.getLogger(__name__)

# An import creating this many rows (and a tenth of the shop) refreshes the SQLite planner
# statistics (core.planner).
PLANNER_REFRESH_ROWS = 1000
FINISHED = (ImportStatus.READY, ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
STALE_AFTER = 120  # seconds without progress before a running job counts as stopped
NEW_CUSTOMER = "new"


def do_commit_import(
    path: str | os.PathLike[str],
    *,
    organisation: Organisation,
    store: Store,
    kind: Kind,
    actor: Any,
    fmt: Format = "auto",
    mapping: Mapping[str, str] | str | None = None,
    mode: str = ALL_OR_NOTHING,
    dry_run: bool = False,
    create_customers: bool = True,
    create_products: bool = True,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    sheet: str | int | None = None,
    job: ImportJob | None = None,
    one_order_per_row: bool = False,
    limits: WorkbookLimits = UPLOAD_LIMITS,
) -> ImportSummary:
    """Import a file of orders or customers (or only check it, `dry_run`); audited as "import".

    `limits` bound how far a workbook may unpack: an upload's by default (issue 14), the larger
    LOCAL_LIMITS for the command line's own files.
    """
    if store.organisation_id != organisation.pk:
        raise ValidationError({"store": _("This store belongs to another organisation.")})
    return Importer(
        path,
        organisation=organisation,
        store=store,
        kind=kind,
        actor=actor,
        fmt=fmt,
        mapping=mapping,
        mode=mode,
        dry_run=dry_run,
        create_customers=create_customers,
        create_products=create_products,
        progress=progress,
        should_cancel=should_cancel,
        chunk_size=chunk_size,
        sheet=sheet,
        job=job,
        one_order_per_row=one_order_per_row,
        limits=limits,
    ).run()


def default_store(organisation: Organisation, actor: Any = None) -> Store:
    """The store rows without one go to: the actor's, else the first, else a new "总店"."""
    if getattr(actor, "store_id", None) and actor.store.organisation_id == organisation.pk:
        return actor.store  # type: ignore[no-any-return]
    store = Store.objects.filter(organisation=organisation).order_by("pk").first()
    if store is None:
        store, _created = Store.objects.get_or_create(organisation=organisation, name="总店")
    return store


def do_create_import_job(
    *,
    organisation: Organisation,
    actor: Any,
    upload: UploadedFile,
    kind: str,
    fmt: str = ImportFormat.AUTO,
) -> ImportJob:
    """Save an uploaded file and create its job; the caller queues the analysis."""
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose customers or orders.")})
    if fmt not in ImportFormat.values:
        raise ValidationError({"format": _("Unknown file format.")})
    name = os.path.basename(upload.name or "upload")
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValidationError(
            {"file": _("Upload a .csv, .txt or .xlsx file (got “%(name)s”).") % {"name": name}}
        )
    folder = imports_dir() / f"org-{organisation.pk}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return ImportJob.objects.create(
        organisation=organisation,
        store=default_store(organisation, actor),
        kind=kind,
        format=fmt,
        path=str(target),
        original_name=name[:200],
        status=ImportStatus.ANALYSING,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def do_update_mapping(
    job: ImportJob,
    *,
    actor: Any,
    mapping: Mapping[str, str],
    one_order_per_row: bool | None = None,
) -> bool:
    """Store the owner's column → field corrections and mark the job for a new analysis."""
    cleaned = {str(k): str(v) for k, v in mapping.items()}
    fields: dict[str, Any] = {"mapping": cleaned, "status": ImportStatus.ANALYSING}
    if one_order_per_row is not None:
        fields["one_order_per_row"] = one_order_per_row
    updated = ImportJob.objects.filter(pk=job.pk, status__in=FINISHED).update(**fields)
    job.refresh_from_db()
    return bool(updated)


def do_confirm_payers(
    job: ImportJob, *, actor: Any, choices: Mapping[str, int | str | None]
) -> int:
    """Remember which customer each bill payer is: a customer id, "new" (made at import) or None."""
    platform = job.detected_format
    if platform not in ("wechat", "alipay"):
        raise ValidationError(_("Only payment bills have payers to confirm."))
    wanted = {int(v) for v in choices.values() if isinstance(v, int | str) and str(v).isdigit()}
    valid = set(
        Customer.objects.active()
        .filter(organisation_id=job.organisation_id, pk__in=wanted)
        .values_list("pk", flat=True)
    )
    saved = 0
    with transaction.atomic():
        for payer, choice in choices.items():
            if choice == NEW_CUSTOMER:
                PayerAlias.objects.filter(
                    organisation_id=job.organisation_id, platform=platform, payer=payer
                ).delete()
                continue
            customer_id = int(choice) if choice is not None and str(choice).isdigit() else None
            if customer_id is not None and customer_id not in valid:
                raise ValidationError(
                    _("Unknown customer for payer “%(payer)s”.") % {"payer": payer}
                )
            PayerAlias.objects.update_or_create(
                organisation_id=job.organisation_id,
                platform=platform,
                payer=payer[:100],
                defaults={
                    "customer_id": customer_id,
                    "confirmed": True,
                    "created_by": actor if getattr(actor, "pk", None) else None,
                },
            )
            saved += 1
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.READY).update(
            status=ImportStatus.ANALYSING
        )
    job.refresh_from_db()
    return saved


def is_stale(job: ImportJob) -> bool:
    """A running job whose worker has not reported for a while (killed, or the machine restarted)."""
    if job.status != ImportStatus.RUNNING:
        return False
    progress = job.signal_path("progress")
    last = progress.stat().st_mtime if progress.exists() else 0.0
    started = job.started_at.timestamp() if job.started_at else 0.0
    return time.time() - max(last, started) > STALE_AFTER


def do_queue_import(
    job: ImportJob,
    *,
    actor: Any,
    mode: str,
    create_customers: bool = True,
    create_products: bool = True,
) -> bool:
    """Mark the job to be imported (again, after a stop); False when it is busy already."""
    if mode not in ImportMode.values:
        raise ValidationError({"mode": _("Choose how to treat rows with errors.")})
    startable = list(FINISHED)
    if is_stale(job):
        startable.append(ImportStatus.RUNNING)
    job.signal_path("cancel").unlink(missing_ok=True)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=startable).update(
        status=ImportStatus.QUEUED,
        mode=mode,
        create_customers=create_customers,
        create_products=create_products,
        cancel_requested=False,
        message="",
    )
    job.refresh_from_db()
    return bool(updated)


def do_cancel_import(job: ImportJob, *, actor: Any) -> None:
    """Ask a queued or running import to stop at the next chunk (nothing half-written)."""
    # A file, not the job row: an all-or-nothing import holds its transaction (and on SQLite
    # the write lock) until it ends, so the page must not wait to write a flag.
    job.signal_path("cancel").touch()
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    job.refresh_from_db()


def live_progress(job: ImportJob) -> tuple[int, int]:
    """(rows done, rows in total) of a running job, from the worker's progress file."""
    try:
        data = json.loads(job.signal_path("progress").read_text())
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError):
        return job.progress_done, job.progress_total


def _progress_writer(job: ImportJob) -> Callable[[int, int], None]:
    path = job.signal_path("progress")

    def write(done: int, total: int) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"done": done, "total": total}))
        os.replace(temporary, path)  # the page never reads half a file

    return write


def run_import_job(job_id: int, *, analyse: bool = False) -> ImportSummary | None:
    """Analyse (dry run) or import a job's file; runs in the worker. None when nothing to do."""
    job = ImportJob.objects.filter(pk=job_id).select_related("organisation", "store").first()
    if job is None:
        return None
    if analyse:
        if job.status != ImportStatus.ANALYSING:
            return None
    else:
        # Claim it: two workers handed the same job must not both run it.
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING, started_at=timezone.now(), progress_done=0
        )
        if not claimed:
            return None
        job.refresh_from_db()
    cancel = job.signal_path("cancel")
    try:
        summary = do_commit_import(
            job.path,
            organisation=job.organisation,
            store=job.store or default_store(job.organisation),
            kind=job.kind,  # type: ignore[arg-type]
            actor=job.created_by,
            fmt=job.format,  # type: ignore[arg-type]
            mapping=job.mapping or None,
            mode=job.mode,
            dry_run=analyse,
            create_customers=job.create_customers,
            create_products=job.create_products,
            progress=_progress_writer(job),
            should_cancel=None if analyse else cancel.exists,
            job=None if analyse else job,
            one_order_per_row=job.one_order_per_row,
        )
    except Exception as exc:
        log.exception("import job %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        return None
    store_outcome(job, summary, analyse=analyse)
    return summary


def do_create_cli_job(
    path: Path,
    *,
    organisation: Organisation,
    store: Store,
    kind: str,
    fmt: str,
    mode: str,
    create_customers: bool,
    create_products: bool,
    one_order_per_row: bool = False,
) -> ImportJob:
    """A running job for a CLI import, so it shows in the same history (and audit) as web ones."""
    return ImportJob.objects.create(
        organisation=organisation,
        store=store,
        kind=kind,
        format=fmt,
        path=str(path.resolve()),
        original_name=path.name[:200],
        mode=mode,
        status=ImportStatus.RUNNING,
        started_at=timezone.now(),
        create_customers=create_customers,
        create_products=create_products,
        one_order_per_row=one_order_per_row,
    )


def store_outcome(job: ImportJob, summary: ImportSummary, *, analyse: bool = False) -> None:
    """Record what an analysis or an import run found or did on its job."""
    fields: dict[str, Any] = {
        "summary": summary.for_job(),
        "errors": error_dicts(summary.errors),
        "detected_format": summary.format,
        "created_count": summary.created,
        "updated_count": summary.updated,
        "skipped_count": summary.skipped,
        "error_count": summary.rejected_rows or len(summary.errors),
        "progress_done": summary.rows_read,
        "progress_total": max(summary.total, summary.rows_read),
    }
    if analyse:
        # Only if the owner did not change the mapping again meanwhile (that analysis wins).
        current = ImportJob.objects.filter(pk=job.pk).values_list("mapping", flat=True).first()
        if current == job.mapping:
            ImportJob.objects.filter(pk=job.pk, status=ImportStatus.ANALYSING).update(
                status=ImportStatus.READY, **fields
            )
        return
    if summary.cancelled:
        status = ImportStatus.CANCELLED
    elif summary.rolled_back or summary.fatal:
        status = ImportStatus.FAILED  # the page explains from the summary: nothing was imported
    else:
        status = ImportStatus.DONE
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        message="",
        cancel_requested=summary.cancelled,
        finished_at=timezone.now(),
        **fields,
    )
    job.signal_path("cancel").unlink(missing_ok=True)
    if status == ImportStatus.DONE and summary.created >= PLANNER_REFRESH_ROWS:
        # A big import (a tenth of what the shop had, at least a thousand rows) changes what
        # the indexes hold: the planner learns it now, not at night.
        held = Customer.objects.filter(organisation_id=job.organisation_id).count()
        if summary.created * 10 >= held:
            refresh_planner_statistics()
