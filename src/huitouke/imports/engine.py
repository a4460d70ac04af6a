"""The import engine: rows from the readers into customers, orders and refunds, in bulk.

Rows stream from the file in chunks of whole orders (a chunk never ends inside a run of rows
sharing an order number). All-or-nothing runs every chunk in one transaction and rolls it back
on the first bad row or a cancel; good-rows mode commits each chunk on its own, so a killed
worker leaves whole orders behind and a re-run skips them. Orders are keyed by their order
number, or by "row:" + the row's stable hash, in Order.external_id: that key makes every import
idempotent. Stats of the touched customers are recomputed in the chunk's transaction.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.audit.actions import record_audit
from huitouke.core.bulk import FastTable, local_datetime_adapter
from huitouke.customers.models import Customer
from huitouke.imports.customer_rows import CustomerRowsMixin
from huitouke.imports.matching import Cust, CustomerIndex, ProductIndex, load_aliases
from huitouke.imports.models import ImportJob
from huitouke.imports.order_rows import OrderRowsMixin
from huitouke.imports.readers import UPLOAD_LIMITS, Format, Item, WorkbookLimits, iter_file
from huitouke.imports.refund_rows import RefundRowsMixin
from huitouke.imports.reports import RawRows
from huitouke.imports.rows import Kind, ParsedOrderRow, ParsedRefundRow, ReadResult, RowError
from huitouke.imports.summary import (
    ALL_OR_NOTHING,
    GOOD_ROWS,
    PREVIEW_ROWS,
    ImportSummary,
    SimOrder,
    Tally,
    order_key,
    visit_key,
)
from huitouke.sales.events import orders_imported
from huitouke.sales.models import Order, OrderLine
from huitouke.sales.stats import refresh_stats_for

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 2000
# SQLite's page cache during an import, in KiB (its default is 2 MB). An import inserts into
# customers, orders, lines and stats and their indexes, in random key order, within one
# transaction: with the default cache SQLite spills dirty pages to the WAL mid-transaction
# and reads them back (a third of a 200k import's wall time went to the system calls). Pages
# are allocated only as they are used, and the cache is put back after the import.
IMPORT_CACHE_KIB = 256 * 1024

Progress = Callable[[int, int], None]


class _Rollback(Exception):
    pass


@contextmanager
def _page_cache() -> Iterator[None]:
    """SQLite's page cache at IMPORT_CACHE_KIB meanwhile (PostgreSQL: nothing to do)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


class Importer(OrderRowsMixin, RefundRowsMixin, CustomerRowsMixin):
    """One run over one file; `run()` returns the ImportSummary."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        organisation: Organisation,
        store: Store,
        kind: Kind,
        actor: Any = None,
        fmt: Format = "auto",
        mapping: Mapping[str, str] | str | None = None,
        mode: str = ALL_OR_NOTHING,
        dry_run: bool = False,
        create_customers: bool = True,
        create_products: bool = True,
        progress: Progress | None = None,
        should_cancel: Callable[[], bool] | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        sheet: str | int | None = None,
        job: ImportJob | None = None,
        one_order_per_row: bool = False,
        limits: WorkbookLimits = UPLOAD_LIMITS,
    ) -> None:
        if mode not in (ALL_OR_NOTHING, GOOD_ROWS):
            raise ValueError(f"mode must be {ALL_OR_NOTHING!r} or {GOOD_ROWS!r}, not {mode!r}")
        self.path, self.fmt, self.mapping, self.sheet = path, fmt, mapping, sheet
        self.limits = limits  # how far a workbook may unpack (the command line's are larger)
        self.org, self.store, self.kind, self.actor = organisation, store, kind, actor
        self.org_id, self.store_id = organisation.pk, store.pk  # read once per order
        self.actor_id = actor.pk if getattr(actor, "pk", None) else None
        self.mode, self.dry_run, self.job = mode, dry_run, job
        self.create_customers, self.create_products = create_customers, create_products
        self.progress, self.should_cancel = progress, should_cancel
        self.chunk_size = max(1, chunk_size)
        self.write = not dry_run
        # Rows without an order number: one order per visit (customer, store, time), or the
        # old way, one per row, for files whose rows are separate purchases.
        self.order_key = order_key if one_order_per_row else visit_key
        self.tz = ZoneInfo(organisation.time_zone or "Asia/Shanghai")
        self.db_time = local_datetime_adapter(self.tz)
        self._money_binding()
        self.summary = ImportSummary(kind=kind, mode=mode, dry_run=dry_run)
        self.platform: str | None = None
        self.columns_of: dict[str, str] = {}
        self.external_id_index: int | None = None
        self.raw: RawRows | None = None
        # Order numbers this run has saved: a later row with one of them adds a line to that
        # order instead of being skipped as already imported. (Row-hash keys never repeat.)
        self.saved_numbers: set[str] = set()
        self.sim_orders: dict[str, SimOrder] = {}
        self.rejected_orders: set[str] = set()
        # Visits with a bad row (key → the bad row's number) and the rows of the visits saved
        # so far (key → row numbers): a bad row met later takes its visit out again.
        self.rejected_visits: dict[str, int] = {}
        self.visit_rows: dict[str, list[int]] = {}
        self.pending_refunds: list[ParsedRefundRow] = []
        self.aliases: dict[str, int | None] = {}
        self.item_name = _("Item")
        now = timezone.now()
        self.tables = {
            "order": FastTable(Order, now),
            "line": FastTable(OrderLine, now),
            "customer": FastTable(Customer, now),
        }
        self._reset_indexes()

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> ImportSummary:
        """Read the file and import it as the mode says; never raises for bad rows."""
        # What is alive before the import (Django, every loaded module) is kept out of the
        # collector's way meanwhile: the import's millions of short-lived objects trigger many
        # full collections, and each would walk all of it again (~10% of a large import).
        # Nor is the collector run while importing: the rows and their tuples hold no cycles
        # and go with their reference counts (a 100k-row import leaves 0 unreachable objects
        # for gc.collect() afterwards), while the collector's passes over them cost about a
        # fifth of the import's CPU time.
        enabled = gc.isenabled()
        gc.freeze()
        gc.disable()
        try:
            with _page_cache():
                return self._run()
        finally:
            if enabled:
                gc.enable()
            gc.unfreeze()

    def _run(self) -> ImportSummary:
        summary = self.summary
        stream = iter_file(self.path, self.kind, self.fmt, self.mapping, self.sheet, self.limits)
        self._describe(stream.result)
        if stream.result.errors:
            summary.errors.extend(stream.result.errors)
            stream.close()
            return summary
        summary.total = estimate_rows(self.path, stream.result)
        try:
            if not self.write:
                self._consume(stream)
                self._refunds()
            elif self.mode == ALL_OR_NOTHING:
                self._all_or_nothing(stream)
            else:
                self._good_rows(stream)
        finally:
            stream.close()
            if self.raw is not None:
                self.raw.close()
            summary.rows_read = stream.result.rows_read
            for reason, count in stream.result.skipped.items():
                summary.skipped_reasons[reason] += count
                summary.skipped += count
        # File-level problems first, then by row, as the owner will read the report.
        summary.errors.sort(key=lambda e: (e.row is not None, e.row or 0))
        if summary.committed:
            # The import is committed; a receiver failing must not hide its outcome.
            for receiver, result in orders_imported.send_robust(
                sender=Order, organisation=self.org, customer_ids=sorted(summary.touched)
            ):
                if isinstance(result, Exception):
                    log.error("import hook %s failed", receiver, exc_info=result)
                    summary.details["hook_failures"] += 1
        return summary

    def _all_or_nothing(self, stream: Any) -> None:
        summary = self.summary
        try:
            with transaction.atomic():
                self._consume(stream)
                if not summary.cancelled and not summary.errors:
                    self._refunds()
                if summary.cancelled or summary.errors:
                    raise _Rollback
                refresh_stats_for(self.org.pk, summary.touched)
                self._audit()
                summary.committed = True
        except _Rollback:
            summary.rolled_back = True
            summary.created = summary.updated = 0
            summary.details.clear()
            summary.touched.clear()

    def _good_rows(self, stream: Any) -> None:
        self._consume(stream)
        summary = self.summary
        if not summary.cancelled:
            self._refunds()
        with transaction.atomic():
            self._audit()
        summary.committed = True

    def _describe(self, result: ReadResult) -> None:
        summary = self.summary
        summary.format, summary.variant = result.format, result.variant
        summary.columns, summary.mapping = list(result.columns), dict(result.mapping)
        summary.unmapped, summary.missing = (
            list(result.unmapped_columns),
            list(result.missing_fields),
        )
        summary.sample = [list(r) for r in result.sample]
        self.columns_of = {name: column for column, name in result.mapping.items()}
        if result.format in ("wechat", "alipay"):
            self.platform = result.format
            self.aliases = load_aliases(self.org.pk, result.format)
        elif self.kind == "orders" and "external_id" in self.columns_of:
            self.external_id_index = result.columns.index(self.columns_of["external_id"])

    def _consume(self, stream: Any) -> None:
        buffer: list[Item] = []
        last_key: str | None = None
        for item in stream:
            if isinstance(item, ParsedRefundRow):
                self.pending_refunds.append(item)
                continue
            if isinstance(item, RowError):
                # A bad row of a visit stays with the visit's rows around it.
                if item.order is not None:
                    last_key = item.order
            else:
                key = self.order_key(item) if isinstance(item, ParsedOrderRow) else None
                # Cut between orders only, so no order is ever split over two transactions.
                if len(buffer) >= self.chunk_size and (key is None or key != last_key):
                    if not self._flush(buffer, stream.result):
                        return
                    buffer = []
                last_key = key
            buffer.append(item)
        if buffer:
            self._flush(buffer, stream.result)
        self._progress(stream.result)

    def _flush(self, items: list[Item], result: ReadResult) -> bool:
        """Save one chunk; False when the run was cancelled."""
        if self.write and self.mode == GOOD_ROWS:
            tally = self._committed_chunk(items)
        else:
            tally = self._chunk(items)
        self._merge(tally)
        if self.mode == ALL_OR_NOTHING and self.summary.errors and self.write:
            # The whole run will be rolled back: check the remaining rows without writing.
            self.write = False
        self._progress(result)
        if self.should_cancel is not None and self.should_cancel():
            self.summary.cancelled = True
            return False
        return True

    def _committed_chunk(self, items: list[Item]) -> Tally:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    tally = self._chunk(items)
                    refresh_stats_for(self.org.pk, tally.touched)
                    return tally
            except IntegrityError:
                # Another import saved some of the same orders or customers meanwhile: forget
                # what this run believed about the database and look again.
                if attempt == 2:
                    raise
                self._reset_indexes()
        raise AssertionError("unreachable")

    def _chunk(self, items: list[Item]) -> Tally:
        tally = Tally()
        self.new_customers: list[tuple[Cust, SimpleNamespace]] = []
        self.key_updates: dict[int, dict[str, str]] = {}
        rows: list[Any] = []
        for item in items:
            if isinstance(item, RowError):
                tally.errors.append(item)
            else:
                rows.append(item)
        if self.kind == "orders":
            self._orders(rows, tally)
        else:
            self._customers(rows, tally)
        return tally

    def _merge(self, tally: Tally) -> None:
        summary = self.summary
        summary.created += tally.created
        summary.updated += tally.updated
        summary.skipped += tally.skipped
        summary.details.update(tally.details)
        summary.errors.extend(tally.errors)
        summary.touched |= {pk for pk in tally.touched if pk > 0}
        room = PREVIEW_ROWS - len(summary.preview)
        if room > 0:
            summary.preview.extend(tally.preview[:room])
        self.aliases.update(tally.aliases)
        self.saved_numbers |= tally.saved_numbers
        self.saved_numbers -= tally.unsaved
        for key, numbers in tally.visit_rows.items():
            self.visit_rows.setdefault(key, []).extend(numbers)
        for key in tally.unsaved:
            self.visit_rows.pop(key, None)

    def _progress(self, result: ReadResult) -> None:
        self.summary.rows_read = result.rows_read
        if self.progress is not None:
            self.progress(result.rows_read, max(self.summary.total, result.rows_read))

    def _reset_indexes(self) -> None:
        self.customers = CustomerIndex(self.org.pk)
        self.products = ProductIndex(self.org.pk)
        self._tags = self._nicknames = None  # reloaded on first use
        if self.platform:
            self.aliases = load_aliases(self.org.pk, self.platform)

    def _audit(self) -> None:
        summary = self.summary
        record_audit(
            actor=self.actor,
            organisation=self.org,
            action="import",
            target=self.job,
            detail={
                "kind": self.kind,
                "file": os.path.basename(os.fspath(self.path)),
                "format": summary.format,
                "mode": self.mode,
                "created": summary.created,
                "updated": summary.updated,
                "skipped": summary.skipped,
                "rejected_rows": summary.rejected_rows,
                "cancelled": summary.cancelled,
            },
        )

    def column(self, name: str) -> str | None:
        """The file's column feeding field `name`."""
        return self.columns_of.get(name)

    def _bill_column(self, *names: str) -> str | None:
        present = set(self.summary.columns)
        return next((n for n in names if n in present), None)

    def _payer_column(self) -> str | None:
        return self._bill_column("交易对方", "用户标识", "对方账户", "对方账号")

    def _id_column(self) -> str | None:
        return self._bill_column("交易单号", "微信订单号", "交易号", "交易订单号", "支付宝交易号")

    def aware(self, moment: datetime) -> datetime:
        """A file's time in the organisation's time zone (times with an offset keep it)."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.tz)


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def estimate_rows(path: str | os.PathLike[str], result: ReadResult) -> int:
    """About how many data rows the file has, for the progress bar (cheap: no parsing)."""
    try:
        if result.container == "xlsx":
            with zipfile.ZipFile(path) as archive:
                names = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/"))
                if not names:
                    return 0
                with archive.open(names[0]) as sheet:
                    match = _DIMENSION.search(sheet.read(4096))
            rows = int(match.group(1)) if match else 0
        else:
            rows = 0
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    rows += chunk.count(b"\n")
    except (OSError, zipfile.BadZipFile, ValueError):
        return 0
    return max(rows - (result.header_row or 1), 0)
