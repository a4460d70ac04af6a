"""Import jobs (an uploaded file on its way in) and remembered payer → customer links for bills."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def imports_dir() -> Path:
    """Where uploaded files and the progress / cancel signals of running jobs live."""
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ImportKind(models.TextChoices):
    ORDERS = "orders", _("Orders")
    CUSTOMERS = "customers", _("Customers")


class ImportFormat(models.TextChoices):
    AUTO = "auto", _("Detect automatically")
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (.xlsx)"
    WECHAT = "wechat", _("WeChat Pay bill")
    ALIPAY = "alipay", _("Alipay bill")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")
    GOOD_ROWS = "good_rows", _("Import the good rows, hand back the bad ones")


class ImportStatus(models.TextChoices):
    ANALYSING = "analysing", _("Checking the file")
    READY = "ready", _("Ready to import")
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (ImportStatus.ANALYSING, ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportJob(models.Model):
    """One file being imported: its mapping, the preview, progress and the outcome."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    store = models.ForeignKey(
        "accounts.Store",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Store for rows that name none."),
    )
    kind = models.CharField(_("what"), max_length=10, choices=ImportKind.choices)
    format = models.CharField(
        _("format"), max_length=10, choices=ImportFormat.choices, default=ImportFormat.AUTO
    )
    detected_format = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, help_text="Absolute path of the file being imported.")
    original_name = models.CharField(_("file"), max_length=200)
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Column → field corrections made by the user."
    )
    mode = models.CharField(
        _("mode"), max_length=20, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING
    )
    create_customers = models.BooleanField(_("create unknown customers"), default=True)
    create_products = models.BooleanField(_("create unknown products"), default=True)
    # Rows without an order number are one order per visit (customer, store, time) unless
    # the owner says each row is an order of its own.
    one_order_per_row = models.BooleanField(_("one order per row"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.ANALYSING
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    # The last analysis or run: preview rows, columns, detail counts, payers (see ImportSummary).
    summary = models.JSONField(default=dict, blank=True)
    # Every row error: {row, column, value, code, params}; messages are rendered on download.
    errors = models.JSONField(default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)
    message = models.TextField(blank=True, help_text="Why the job failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="import_org_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def signal_path(self, suffix: str) -> Path:
        """The file carrying this job's live progress ("progress") or cancel request ("cancel")."""
        # Files, not rows: an all-or-nothing import runs inside one transaction, which neither
        # shows uncommitted progress to the web page nor (on SQLite) lets the page write a flag.
        return imports_dir() / f"job-{self.pk}.{suffix}"


class Platform(models.TextChoices):
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class PayerAlias(models.Model):
    """A payer as a payment bill names her (nickname or account), linked to a customer once confirmed."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    payer = models.CharField(_("payer"), max_length=100)
    # NULL: the owner said this payer is nobody to remember (walk-in sales stay without customer).
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="payer_aliases",
        verbose_name=_("customer"),
    )
    confirmed = models.BooleanField(_("confirmed"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("payer link")
        verbose_name_plural = _("payer links")
        ordering = ["platform", "payer"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "platform", "payer"], name="payer_alias_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.payer}"


def exports_dir() -> Path:
    """Where finished exports wait for their download (removed after EXPORT_KEEP_DAYS)."""
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Exporting")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Removed")


class ExportJob(models.Model):
    """One export asked for on the screen, written by the worker with its creator's scope.

    Only its creator may download the file, which lives in the data dir's exports/ folder until
    the daily clean-up removes it (EXPORT_KEEP_DAYS after it was written).
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=10, choices=ImportKind.choices)
    format = models.CharField(_("format"), max_length=10)
    # "en": the machine-readable form; "": for people, in `language` (the creator's, when asked).
    lang = models.CharField(max_length=5, blank=True)
    language = models.CharField(max_length=10, default="zh-hans")
    segment_id = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    file_name = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # What was exported, in the words of its audit entry.
    what = models.CharField(max_length=300, blank=True)
    message = models.TextField(blank=True, help_text="Why the export failed.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="export_creator_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} .{self.format}"

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def path(self) -> Path | None:
        return exports_dir() / self.file_name if self.file_name else None

    @property
    def download_name(self) -> str:
        stem = self.kind if self.segment_id is None else f"{self.kind}-segment-{self.segment_id}"
        return f"{stem}-{self.pk}.{self.format}"
