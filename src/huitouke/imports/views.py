"""Import and export screens (owners only): upload, preview, mapping, payers, progress, reports."""

from __future__ import annotations

import tempfile
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.models import Customer
from huitouke.customers.phones import normalise_phone
from huitouke.imports import actions
from huitouke.imports.export_jobs import do_request_export
from huitouke.imports.exports import FORMATS, KINDS, ExportError
from huitouke.imports.forms import (
    CommitForm,
    UploadForm,
    field_choices,
    lang,
    mapping_from_post,
)
from huitouke.imports.models import ExportJob, ExportStatus, ImportJob, ImportMode, ImportStatus
from huitouke.imports.reports import errors_from_dicts, write_bad_rows, write_error_report
from huitouke.imports.summary import labelled_details
from huitouke.segments.models import Segment

SHOWN_ERRORS = 50
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _require_owner(request: AuthedRequest) -> None:
    # Imports write a whole organisation's history and exports carry every phone number.
    if request.user.role != Role.OWNER or request.user.organisation_id is None:
        raise PermissionDenied


def _job_for(request: AuthedRequest, pk: int) -> ImportJob:
    _require_owner(request)
    job = (
        ImportJob.objects.filter(organisation_id=request.user.organisation_id, pk=pk)
        .select_related("created_by", "store")
        .first()
    )
    if job is None:
        raise Http404
    return job


def _enqueue(job: ImportJob, analyse: bool) -> None:
    enqueue_on_commit("huitouke.imports.tasks.run_import", job.pk, analyse=analyse)


@login_required
def import_list(request: AuthedRequest) -> HttpResponse:
    _require_owner(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = actions.do_create_import_job(
                organisation=request.user.organisation,
                actor=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                fmt=form.cleaned_data["format"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            _enqueue(job, analyse=True)
            return redirect("imports:job", job.pk)
    jobs = ImportJob.objects.filter(organisation_id=request.user.organisation_id).select_related(
        "created_by"
    )[:20]
    ctx = {"form": form, "jobs": jobs, "segments": _segments(request), "active_nav": "imports"}
    return render(request, "imports/list.html", ctx)


def _job_context(job: ImportJob) -> dict[str, Any]:
    summary: dict[str, Any] = job.summary or {}
    errors = errors_from_dicts(job.errors[:SHOWN_ERRORS])
    language = lang()
    mapping = summary.get("mapping", {})
    columns = summary.get("columns", [])
    done, total = (
        actions.live_progress(job) if job.is_active else (job.progress_done, job.progress_total)
    )
    return {
        "job": job,
        "summary": summary,
        "details": summary.get("details", {}),
        "detail_counts": labelled_details(summary.get("details", {})),
        "preview": summary.get("preview", []),
        "payers": summary.get("payers", []),
        "is_bill": job.detected_format in ("wechat", "alipay"),
        "columns": [(i, c, mapping.get(c, "-")) for i, c in enumerate(columns)],
        "sample": summary.get("sample", []),
        "field_choices": field_choices(job.kind),
        "errors": [(e, e.message(language)) for e in errors],
        "more_errors": max(len(job.errors) - SHOWN_ERRORS, 0),
        "done": done,
        "total": max(total, done),
        "percent": (done * 100 // total) if total else 0,
        "stale": actions.is_stale(job),
        "commit_form": CommitForm(
            initial={
                "mode": job.mode,
                "create_customers": job.create_customers,
                "create_products": job.create_products,
            }
        ),
        "can_commit": job.status
        in (ImportStatus.READY, ImportStatus.FAILED, ImportStatus.CANCELLED, ImportStatus.DONE)
        and not any(e.row is None for e in errors),
        "good_rows": job.mode == ImportMode.GOOD_ROWS,
        "active_nav": "imports",
    }


@login_required
def job_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    return render(request, "imports/job.html", _job_context(job))


def _progress(request: AuthedRequest, job: Any, fragment: str, context: Any) -> HttpResponse:
    """The progress fragment of a job (an import or an export) while it runs; once it has
    finished, HTMX reloads the whole page, which shows the outcome or the download."""
    if not job.is_active and request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, fragment, context(job))


@login_required
def job_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The progress fragment, polled every second while the job is busy."""
    return _progress(request, _job_for(request, pk), "imports/job.html#status", _job_context)


@login_required
@require_POST
def job_mapping(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    columns = (job.summary or {}).get("columns", [])
    if actions.do_update_mapping(
        job,
        actor=request.user,
        mapping=mapping_from_post(request.POST, columns),
        one_order_per_row=(
            request.POST.get("one_order_per_row") == "on" if job.kind == "orders" else None
        ),
    ):
        _enqueue(job, analyse=True)
        messages.success(request, _("Mapping saved; checking the file again."))
    else:
        messages.error(request, _("The import is busy; try again when it has finished."))
    return redirect("imports:job", job.pk)


def _payer_choice(request: AuthedRequest, index: int) -> int | str | None:
    key = request.POST.get(f"payer-{index}-key", "").strip()
    if key:
        try:
            phone = normalise_phone(key)
        except ValidationError:
            phone = ""
        customers = Customer.objects.visible_to(request.user)
        found = (customers.filter(phone=phone).first() if phone else None) or customers.filter(
            external_id=key
        ).first()
        if found is None:
            raise ValidationError(
                _("No customer has the phone or number “%(key)s”.") % {"key": key}
            )
        return found.pk
    choice = request.POST.get(f"payer-{index}", actions.NEW_CUSTOMER)
    return None if choice == "none" else choice


@login_required
@require_POST
def job_payers(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    payers = (job.summary or {}).get("payers", [])
    try:
        choices = {p["payer"]: _payer_choice(request, i) for i, p in enumerate(payers)}
        actions.do_confirm_payers(job, actor=request.user, choices=choices)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _enqueue(job, analyse=True)
        messages.success(request, _("Payers remembered; checking the file again."))
    return redirect("imports:job", job.pk)


@login_required
@require_POST
def job_commit(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    form = CommitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to treat rows with errors."))
        return redirect("imports:job", job.pk)
    if actions.do_queue_import(job, actor=request.user, **form.cleaned_data):
        _enqueue(job, analyse=False)
    else:
        messages.error(request, _("The import is busy; try again when it has finished."))
    return redirect("imports:job", job.pk)


@login_required
@require_POST
def job_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    actions.do_cancel_import(job, actor=request.user)
    messages.success(request, _("Stopping the import after the rows in progress."))
    return redirect("imports:job", job.pk)


def _download(write: Any, fmt: str, filename: str) -> HttpResponse:
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write(handle)
    handle.seek(0)
    response: HttpResponse = FileResponse(  # type: ignore[assignment]
        handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[fmt]
    )
    return response


@login_required
def job_errors(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse:
    """The per-row error report (row, column, value, message) as CSV or XLSX."""
    job = _job_for(request, pk)
    if fmt not in FORMATS:
        raise Http404
    errors = errors_from_dicts(job.errors)
    language = lang()
    return _download(
        lambda handle: write_error_report(handle, fmt, errors, language),
        fmt,
        f"errors-{job.pk}.{fmt}",
    )


@login_required
def job_bad_rows(request: AuthedRequest, pk: int) -> HttpResponse:
    """The rejected rows under the file's header, ready to fix and import again."""
    job = _job_for(request, pk)
    errors = [e for e in errors_from_dicts(job.errors) if e.row is not None]
    if not errors:
        raise Http404
    summary = job.summary or {}
    fmt = "xlsx" if summary.get("format") == "xlsx" else "csv"
    language = lang()

    def write(handle: Any) -> None:
        write_bad_rows(
            handle,
            job.path,
            kind=job.kind,  # type: ignore[arg-type]
            errors=errors,
            fmt=job.format,
            mapping=job.mapping or None,
            lang=language,
            out_fmt=fmt,
        )

    stem = job.original_name.rsplit(".", 1)[0]
    return _download(write, fmt, f"{stem}-rows-to-fix.{fmt}")


def _export_job_for(request: AuthedRequest, pk: int) -> ExportJob:
    # Only its creator sees an export: it holds what her scope and phone rule let her see.
    _require_owner(request)
    job = ExportJob.objects.filter(
        organisation_id=request.user.organisation_id, created_by=request.user, pk=pk
    ).first()
    if job is None:
        raise Http404
    return job


def _segments(request: AuthedRequest) -> list[Segment]:
    return list(Segment.objects.filter(organisation_id=request.user.organisation_id))


@login_required
def export_page(request: AuthedRequest) -> HttpResponse:
    """The export screen: customers (all or one segment) or orders, and my recent exports."""
    _require_owner(request)
    chosen = request.GET.get("segment", "")
    segments = _segments(request)
    ctx = {
        "segments": segments,
        "chosen": int(chosen) if chosen.isdigit() else None,
        "exports": ExportJob.objects.filter(created_by=request.user)[:20],
        "active_nav": "imports",
    }
    return render(request, "imports/export.html", ctx)


@login_required
def export(request: AuthedRequest, kind: str, fmt: str) -> HttpResponse:
    """Queue an export of customers or orders (owners only); the worker writes it, audited."""
    _require_owner(request)
    if kind not in KINDS or fmt not in FORMATS:
        raise Http404
    if request.method != "POST":
        return redirect("imports:export_page")
    segment = request.POST.get("segment", "")
    try:
        job = do_request_export(
            actor=request.user,
            kind=kind,
            fmt=fmt,
            # The user's language by default; lang=en keeps the machine-readable form (DESIGN §8).
            lang="en" if request.POST.get("lang") == "en" else None,
            segment=int(segment) if segment.isdigit() else None,
            language=get_language() or "zh-hans",
        )
    except ExportError as exc:
        messages.error(request, str(exc))
        return redirect("imports:export_page")
    return redirect("imports:export_job", job.pk)


def _export_context(job: ExportJob) -> dict[str, Any]:
    total = max(job.progress_total, job.progress_done)
    return {
        "job": job,
        "done": job.progress_done,
        "total": total,
        "percent": job.progress_done * 100 // total if total else 0,
        "segment_name": (
            Segment.objects.filter(organisation_id=job.organisation_id, pk=job.segment_id)
            .values_list("name", flat=True)
            .first()
            if job.segment_id is not None
            else None
        ),
        "keep_days": settings.EXPORT_KEEP_DAYS,
        "active_nav": "imports",
    }


@login_required
def export_job(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _export_job_for(request, pk)
    return render(request, "imports/export_job.html", _export_context(job))


@login_required
def export_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The progress fragment, polled every second while the export is being written."""
    job = _export_job_for(request, pk)
    return _progress(request, job, "imports/export_job.html#status", _export_context)


@login_required
def export_download(request: AuthedRequest, pk: int) -> HttpResponse:
    """The finished file, for its creator only (404 for anyone else, as for a job never made)."""
    job = _export_job_for(request, pk)
    path = job.path
    if job.status != ExportStatus.DONE or path is None or not path.is_file():
        raise Http404
    response: HttpResponse = FileResponse(  # type: ignore[assignment]
        path.open("rb"),
        as_attachment=True,
        filename=job.download_name,
        content_type=CONTENT_TYPES[job.format],
    )
    return response
