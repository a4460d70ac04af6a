"""The import engine: rows from the readers into customers, orders and refunds, in bulk.

Rows stream from the file in chunks of whole orders (a chunk never ends inside a run of rows
sharing an order number). All-or-nothing runs every chunk in one transaction and rolls it back
on the first bad row or a cancel; good-rows mode commits each chunk on its own, so a killed
worker leaves whole orders behind and a re-run skips them. Orders are keyed by their order
number, or by "row:" + the row's stable hash, in Order.external_id: that key makes every import
idempotent. Stats of the touched customers are recomputed in the chunk's transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.audit.actions import record_audit
from huitouke.customers.models import Customer
from huitouke.imports.bulk import FastTable
from huitouke.imports.customer_rows import CustomerRowsMixin
from huitouke.imports.matching import (
    Cust,
    CustomerIndex,
    ProductIndex,
    batches,
    customer_row,
    fake_id,
    load_aliases,
    new_customer,
    phone_or_error,
)
from huitouke.imports.models import ImportJob, PayerAlias
from huitouke.imports.parsing import clean_text
from huitouke.imports.readers import Format, Item, iter_file
from huitouke.imports.reports import RawRows
from huitouke.imports.rows import (
    Kind,
    ParsedOrderRow,
    ParsedRefundRow,
    ReadResult,
    RowError,
    make_error,
)
from huitouke.imports.stats import refresh_stats_for
from huitouke.imports.summary import ALL_OR_NOTHING, GOOD_ROWS, PREVIEW_ROWS, ImportSummary
from huitouke.sales.actions import do_refund_order
from huitouke.sales.models import ZERO, Order, OrderLine, OrderSource, OrderStatus, Refund

_PAID, _IMPORTED = OrderStatus.PAID.value, OrderSource.IMPORT.value

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
DEFAULT_CHUNK = 2000
ROW_PREFIX = "row:"

# Called after a committed import with (organisation, ids of the customers it touched); other
# apps (loyalty: tiers from the imported spend) register here. Imported history earns no points.
IMPORT_DONE_HOOKS: list[Callable[[Organisation, list[int]], None]] = []

Progress = Callable[[int, int], None]


class _Rollback(Exception):
    pass


class Reject(Exception):
    """A row that cannot be saved; carries its error."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message_en)
        self.error = error


@dataclass
class Tally:
    """What one chunk did; merged into the summary once the chunk is committed."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    details: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    aliases: dict[str, int | None] = field(default_factory=dict)
    saved_numbers: set[str] = field(default_factory=set)


@dataclass
class _SimOrder:
    """An order a dry run would create (for refunds and repeated order numbers)."""

    customer: int | None
    placed_at: datetime
    net: Decimal


class Importer(CustomerRowsMixin):
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
    ) -> None:
        if mode not in (ALL_OR_NOTHING, GOOD_ROWS):
            raise ValueError(f"mode must be {ALL_OR_NOTHING!r} or {GOOD_ROWS!r}, not {mode!r}")
        self.path, self.fmt, self.mapping, self.sheet = path, fmt, mapping, sheet
        self.org, self.store, self.kind, self.actor = organisation, store, kind, actor
        self.actor_id = actor.pk if getattr(actor, "pk", None) else None
        self.mode, self.dry_run, self.job = mode, dry_run, job
        self.create_customers, self.create_products = create_customers, create_products
        self.progress, self.should_cancel = progress, should_cancel
        self.chunk_size = max(1, chunk_size)
        self.write = not dry_run
        self.tz = ZoneInfo(organisation.time_zone or "Asia/Shanghai")
        self.summary = ImportSummary(kind=kind, mode=mode, dry_run=dry_run)
        self.platform: str | None = None
        self.columns_of: dict[str, str] = {}
        self.external_id_index: int | None = None
        self.raw: RawRows | None = None
        # Order numbers this run has saved: a later row with one of them adds a line to that
        # order instead of being skipped as already imported. (Row-hash keys never repeat.)
        self.saved_numbers: set[str] = set()
        self.sim_orders: dict[str, _SimOrder] = {}
        self.rejected_orders: set[str] = set()
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
        summary = self.summary
        stream = iter_file(self.path, self.kind, self.fmt, self.mapping, self.sheet)
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
            for hook in IMPORT_DONE_HOOKS:
                try:
                    hook(self.org, sorted(summary.touched))
                except Exception:
                    # The import is committed; a follow-up failing must not hide its outcome.
                    log.exception("import hook %s failed", hook)
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
            if not isinstance(item, RowError):
                key = order_key(item) if isinstance(item, ParsedOrderRow) else None
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

    # --- orders -----------------------------------------------------------------------------

    def _orders(self, rows: list[ParsedOrderRow], tally: Tally) -> None:
        self._reject_orders_of_bad_rows(tally)
        groups: dict[str, list[ParsedOrderRow]] = {}
        for row in rows:
            groups.setdefault(order_key(row), []).append(row)
        for key in list(groups):
            first = groups[key][0]
            if first.external_id and first.external_id in self.rejected_orders:
                for row in groups.pop(key):
                    tally.errors.append(
                        make_error(
                            row.row,
                            self.column("external_id"),
                            row.external_id,
                            "order_line_rejected",
                        )
                    )
        existing = self._existing(Order, list(groups))
        new: list[tuple[str, list[ParsedOrderRow]]] = []
        extend: list[tuple[str, list[ParsedOrderRow]]] = []
        for key, group in groups.items():
            pk = existing.get(key)
            if key in self.sim_orders or key in self.saved_numbers:
                extend.append((key, group))
            elif pk is not None:
                tally.skipped += len(group)
                tally.details["orders_existing"] += 1
                self._preview_order(tally, group, None, "existing")
            else:
                new.append((key, group))
        self._prefetch_customers([g[0] for _, g in new])
        owners: list[tuple[str, list[ParsedOrderRow], Cust | None]] = []
        for key, group in new:
            try:
                owners.append((key, group, self._customer_for_order(group[0], tally)))
            except Reject as reject:
                tally.errors.extend(_for_each_row(reject.error, group))
        self._flush_customers(tally)
        orders: list[dict[str, Any]] = []
        lines: list[list[dict[str, Any]]] = []
        for key, group, cust in owners:
            order, order_lines = self._build_order(key, group, cust)
            if cust is not None:
                tally.touched.add(cust.pk)
            self._preview_order(tally, group, cust, "new")
            tally.created += 1
            tally.details["orders_created"] += 1
            if self.write:
                orders.append(order)
                lines.append(order_lines)
            else:
                self.sim_orders[key] = _SimOrder(
                    order["customer_id"], order["placed_at"], order["net_paid"]
                )
        if orders:
            self.tables["order"].insert(orders)
            # The keys are unique per organisation: they give back the ids the database chose.
            ids = self._existing(Order, [o["external_id"] for o in orders])
            flat: list[dict[str, Any]] = []
            for order, order_lines in zip(orders, lines, strict=True):
                for line in order_lines:
                    line["order_id"] = ids[order["external_id"]]
                    flat.append(line)
            self.tables["line"].insert(flat)
            tally.saved_numbers.update(
                o["external_id"] for o in orders if not o["external_id"].startswith(ROW_PREFIX)
            )
        for key, group in extend:
            self._extend_order(key, group, existing.get(key), tally)
        tally.details.update(
            {k: v for k, v in self.products.created.items() if v}
        )  # counted per chunk, then reset
        self.products.created = dict.fromkeys(self.products.created, 0)

    def _reject_orders_of_bad_rows(self, tally: Tally) -> None:
        # A bad row of a multi-row order rejects the whole order: never half an order saved.
        if self.external_id_index is None:
            return
        bad = sorted({e.row for e in tally.errors if e.row is not None})
        if not bad:
            return
        if self.raw is None:
            self.raw = RawRows(self.path, self.summary.format, self.sheet)
        for number in bad:
            cells = self.raw.get(number) or []
            if self.external_id_index < len(cells):
                ident = clean_text(cells[self.external_id_index])
                if ident:
                    self.rejected_orders.add(ident)

    def _existing(self, model: type[Order] | type[Refund], keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            for batch in batches(keys):
                # Plain SQL: building a 500-value IN through the ORM costs more than the query.
                # The NOT (… = '') term is the partial unique index's own condition, so the
                # index serves the lookup on SQLite and PostgreSQL alike.
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(
                    f"SELECT external_id, id FROM {table} WHERE organisation_id = %s"
                    f" AND external_id IN ({marks}) AND NOT (external_id = '')",
                    [self.org.pk, *batch],
                )
                found.update(cursor.fetchall())
        return found

    def _prefetch_customers(self, rows: list[ParsedOrderRow]) -> None:
        phones = []
        for row in rows:
            with contextlib.suppress(ValueError):
                phones.append(phone_or_error(row.phone))
        self.customers.prefetch(
            ext=(r.customer_external_id for r in rows if r.customer_external_id),
            phones=(p for p in phones if p),
            wechats=(r.wechat for r in rows if r.wechat),
            names=(name for name in map(name_key, rows) if name),
        )
        self.customers.prefetch_pks(
            pk for pk in self.aliases.values() if pk and pk not in self.customers.records
        )

    def _customer_for_order(self, row: ParsedOrderRow, tally: Tally) -> Cust | None:
        payer = (row.nickname or row.payer_id) if self.platform else None
        if payer and payer in self.aliases:
            linked = self.aliases[payer]
            if linked is None:
                return None  # the owner said: not a customer to remember
            if linked in self.customers.records:
                self._note_payer(payer, row, self.customers.records[linked], "alias")
                return self.customers.records[linked]
        try:
            phone = phone_or_error(row.phone)
        except ValueError:
            raise Reject(
                make_error(row.row, self.column("phone"), row.phone, "phone_invalid")
            ) from None
        name = name_key(row)
        ext, wechat = row.customer_external_id, row.wechat
        found, fits = self.customers.find(ext, phone, wechat, name)
        if found is None and len(fits) > 1 and not (ext or phone or wechat):
            self._note_payer(payer, row, None, "ambiguous", fits)
            column = self.column("customer_name") or self.column("nickname") or self._payer_column()
            raise Reject(make_error(row.row, column, name, "customer_ambiguous"))
        if found is not None:
            if fits:  # matched by name: fill in the keys she did not have yet
                self._fill_keys(found, ext, phone, wechat, tally)
            if payer:
                tally.aliases[payer] = found.pk
            self._note_payer(payer, row, found, "name")
            return found
        if not self.create_customers:
            self._note_payer(payer, row, None, "none")
            column = self.column("customer_name") or self.column("phone") or self._payer_column()
            raise Reject(make_error(row.row, column, row.customer_key, "customer_not_found"))
        placed_at = self.aware(row.placed_at)
        display = name or (phone and phone.removeprefix("+86")) or wechat or ext or _("Customer")
        record = Cust(fake_id(), display[:100], ext or "", phone, wechat or "")
        self.customers.add_new(record)
        instance = new_customer(
            organisation_id=self.org.pk,
            name=record.name,
            phone=phone,
            external_id=ext or "",
            wechat_id=wechat or "",
            home_store_id=self.products.store(row.store, self.store.pk, write=self.write),
            owner_id=self.products.staff.get(row.staff or ""),
            created_at=placed_at,
            created_by_id=self.actor_id,
        )
        self.new_customers.append((record, instance))
        tally.details["customers_created"] += 1
        if payer:
            tally.aliases[payer] = record.pk
        self._note_payer(payer, row, record, "new")
        return record

    def _fill_keys(
        self, cust: Cust, ext: str | None, phone: str | None, wechat: str | None, tally: Tally
    ) -> None:
        changes: dict[str, str] = {}
        if ext and not cust.external_id and ext not in self.customers.by_ext:
            changes["external_id"] = ext
        if phone and not cust.phone and phone not in self.customers.by_phone:
            changes["phone"] = phone
        if wechat and not cust.wechat:
            changes["wechat"] = wechat
        if not changes:
            return
        for name, value in changes.items():
            self.customers.set_key(cust, name, value)
        if cust.new:
            instance = next(i for r, i in self.new_customers if r is cust)
            for name, value in changes.items():
                setattr(instance, "wechat_id" if name == "wechat" else name, value)
        else:
            self.key_updates.setdefault(cust.pk, {}).update(changes)
            tally.details["customers_updated"] += 1

    def _flush_customers(self, tally: Tally) -> None:
        """Write this chunk's new customers (their ids are needed by the orders) and filled-in keys."""
        if not self.write:
            return
        if self.new_customers:
            ids = self.tables["customer"].insert_returning(
                [customer_row(i) for _, i in self.new_customers]
            )
            renamed: dict[int, int] = {}
            for (record, instance), pk in zip(self.new_customers, ids, strict=True):
                renamed[record.pk] = pk
                instance.pk = pk
                self.customers.rekey(record, pk)
            for payer, linked in list(tally.aliases.items()):
                if linked is not None and linked in renamed:
                    tally.aliases[payer] = renamed[linked]
        if self.key_updates:
            now = timezone.now()
            for pk, changes in self.key_updates.items():
                fields = {("wechat_id" if k == "wechat" else k): v for k, v in changes.items()}
                Customer.objects.filter(pk=pk).update(updated_at=now, **fields)
        if self.platform and tally.aliases:
            PayerAlias.objects.bulk_create(
                [
                    PayerAlias(
                        organisation_id=self.org.pk,
                        platform=self.platform,
                        payer=payer[:100],
                        customer_id=pk,
                        created_by_id=self.actor_id,
                    )
                    for payer, pk in tally.aliases.items()
                    if payer not in self.aliases
                ],
                ignore_conflicts=True,
            )
        for record, _instance in self.new_customers:
            tally.touched.add(record.pk)  # every customer gets her stats row

    def _build_order(
        self, key: str, group: list[ParsedOrderRow], cust: Cust | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        first = group[0]
        store_id = self.products.store(first.store, self.store.pk, write=self.write)
        lines, gross, net, cost = self._lines(group)
        order = {
            "organisation_id": self.org.pk,
            "store_id": store_id,
            "customer_id": cust.pk if cust else None,
            "staff_id": self.products.staff.get(first.staff or ""),
            "placed_at": self.aware(first.placed_at),
            "status": _PAID,
            "gross_amount": gross,
            "discount_amount": max(gross - net, ZERO),
            "net_paid": net,
            "cost_amount": cost,
            "source": _IMPORTED,
            "external_id": key,
            "note": (first.note or "")[:200],
            "created_by_id": self.actor_id,
        }
        return order, lines

    def _lines(
        self, group: list[ParsedOrderRow]
    ) -> tuple[list[dict[str, Any]], Decimal, Decimal, Decimal]:
        lines: list[dict[str, Any]] = []
        gross = net = cost = ZERO
        for row in group:
            category_id = self.products.category(
                row.category, create=self.create_products, write=self.write
            )
            if row.unit_price is not None:
                unit_price = row.unit_price
            else:
                unit_price = ((row.amount + (row.discount or ZERO)) / row.quantity).quantize(CENT)
            product_id, product_category, product_cost = self.products.product(
                row.product_name,
                row.sku,
                category_id,
                unit_price,
                row.unit_cost,
                create=self.create_products,
                write=self.write,
            )
            unit_cost = row.unit_cost if row.unit_cost is not None else (product_cost or ZERO)
            lines.append(
                {
                    "product_id": _real(product_id),
                    "category_id": _real(category_id) or _real(product_category),
                    "name": (row.product_name or row.category or self.item_name)[:100],
                    "quantity": row.quantity,
                    "unit_price": unit_price,
                    "unit_cost": unit_cost,
                }
            )
            gross += unit_price * row.quantity
            net += row.amount
            cost += unit_cost * row.quantity
        return lines, gross, net, cost

    def _extend_order(
        self, key: str, group: list[ParsedOrderRow], pk: int | None, tally: Tally
    ) -> None:
        """Rows of an order this run already saved from earlier in the file: add their lines."""
        lines, gross, net, cost = self._lines(group)
        tally.details["order_rows_appended"] += len(group)
        if not self.write or pk is None:
            sim = self.sim_orders.get(key)
            if sim is not None:
                sim.net += net
            return
        for line in lines:
            line["order_id"] = pk
        self.tables["line"].insert(lines)
        Order.objects.filter(pk=pk).update(
            gross_amount=F("gross_amount") + gross,
            net_paid=F("net_paid") + net,
            cost_amount=F("cost_amount") + cost,
            discount_amount=F("discount_amount") + max(gross - net, ZERO),
        )
        customer_id = Order.objects.values_list("customer_id", flat=True).get(pk=pk)
        if customer_id is not None:
            tally.touched.add(customer_id)

    def _preview_order(
        self, tally: Tally, group: list[ParsedOrderRow], cust: Cust | None, status: str
    ) -> None:
        if len(self.summary.preview) + len(tally.preview) >= PREVIEW_ROWS:
            return
        first = group[0]
        tally.preview.append(
            {
                "row": first.row,
                "status": status,
                "external_id": first.external_id or "",
                "customer": cust.name if cust else (first.customer_key or ""),
                "customer_new": bool(cust and cust.new),
                "placed_at": self.aware(first.placed_at)
                .astimezone(self.tz)
                .strftime("%Y-%m-%d %H:%M"),
                "items": "; ".join(
                    f"{r.product_name or r.category or '—'} × {r.quantity}" for r in group
                ),
                "amount": str(sum((r.amount for r in group), ZERO)),
                "store": first.store or self.store.name,
            }
        )

    def _note_payer(
        self,
        payer: str | None,
        row: ParsedOrderRow,
        cust: Cust | None,
        how: str,
        candidates: list[Cust] = (),  # type: ignore[assignment]
    ) -> None:
        if not payer:
            return
        info = self.summary.payers.get(payer)
        if info is None:
            info = self.summary.payers[payer] = {
                "payer": payer,
                "platform": self.platform,
                "rows": 0,
                "amount": "0.00",
                "customer_id": cust.pk if cust and cust.pk > 0 else None,
                "customer_name": cust.name if cust else "",
                "match": how,
                "candidates": [[c.pk, c.name] for c in candidates[:20]],
            }
        info["rows"] += 1
        info["amount"] = str(Decimal(info["amount"]) + row.amount)

    # --- refunds ----------------------------------------------------------------------------

    def _refunds(self) -> None:
        if not self.pending_refunds:
            return
        refunds = sorted(self.pending_refunds, key=lambda r: (r.refunded_at, r.row))
        keys = [refund_key(r) for r in refunds]
        existing = self._existing(Refund, keys)
        seen: set[str] = set()
        tally = Tally()
        for refund, key in zip(refunds, keys, strict=True):
            if key in existing or key in seen:
                tally.skipped += 1
                tally.details["refunds_existing"] += 1
                continue
            seen.add(key)
            try:
                self._refund(refund, key, tally)
            except Reject as reject:
                tally.errors.append(reject.error)
                continue
            tally.created += 1
            tally.details["refunds_created"] += 1
        self._merge(tally)

    def _refund(self, refund: ParsedRefundRow, key: str, tally: Tally) -> None:
        reference = refund.original_external_id or refund.nickname or refund.payer_id or ""
        column = self._id_column() if refund.original_external_id else self._payer_column()
        if not self.write:
            if not self._sim_refund_target(refund):
                raise Reject(make_error(refund.row, column, reference, "refund_order_not_found"))
            return
        order = self._refund_target(refund)
        if order is None:
            raise Reject(make_error(refund.row, column, reference, "refund_order_not_found"))
        try:
            with transaction.atomic():
                made = do_refund_order(
                    order=order,
                    actor=self.actor,
                    amount=refund.amount,
                    reason=(refund.note or _("Refund from the payment bill"))[:200],
                    external_id=key,
                )
                Refund.objects.filter(pk=made.pk).update(created_at=self.aware(refund.refunded_at))
        except ValidationError as exc:
            raise Reject(
                make_error(
                    refund.row, column, reference, "refund_rejected", detail=" ".join(exc.messages)
                )
            ) from None
        if order.customer_id is not None:
            tally.touched.add(order.customer_id)

    def _refund_customer(self, refund: ParsedRefundRow) -> int | None:
        payer = refund.nickname or refund.payer_id
        if not payer:
            return None
        if payer in self.aliases:
            return self.aliases[payer]
        self.customers.prefetch(names=[payer])
        found, _fits = self.customers.find(None, None, None, payer)
        return found.pk if found else None

    def _refund_target(self, refund: ParsedRefundRow) -> Order | None:
        orders = Order.objects.filter(organisation_id=self.org.pk)
        if refund.original_external_id:
            return orders.filter(external_id=refund.original_external_id).first()
        customer_id = self._refund_customer(refund)
        if customer_id is None:
            return None
        # A refund row without the original payment's id: her latest payment before it that
        # still holds the amount.
        return (
            orders.filter(
                customer_id=customer_id,
                status=OrderStatus.PAID,
                placed_at__lte=self.aware(refund.refunded_at),
                net_paid__gte=F("refunded_amount") + refund.amount,
            )
            .order_by("-placed_at", "-pk")
            .first()
        )

    def _sim_refund_target(self, refund: ParsedRefundRow) -> bool:
        if refund.original_external_id:
            return refund.original_external_id in self.sim_orders or bool(
                self._existing(Order, [refund.original_external_id])
            )
        customer_id = self._refund_customer(refund)
        if customer_id is None:
            return False
        when = self.aware(refund.refunded_at)
        if any(
            s.customer == customer_id and s.placed_at <= when and s.net >= refund.amount
            for s in self.sim_orders.values()
        ):
            return True
        return customer_id > 0 and self._refund_target(refund) is not None


def order_key(row: ParsedOrderRow) -> str:
    """The Order.external_id an order row is saved under: its order number or its row hash."""
    return row.external_id or ROW_PREFIX + row.row_key


def refund_key(row: ParsedRefundRow) -> str:
    """The Refund.external_id a refund row is saved under."""
    return row.external_id or ROW_PREFIX + row.row_key


def name_key(row: ParsedOrderRow) -> str | None:
    """The name a row's customer goes by: her name, else the payer's nickname or account."""
    return row.customer_name or row.nickname or row.payer_id


def _real(pk: int | None) -> int | None:
    return pk if pk is not None and pk > 0 else None


def _for_each_row(error: RowError, group: list[ParsedOrderRow]) -> list[RowError]:
    return [error] + [
        make_error(r.row, error.column, error.value, error.code, **error.params) for r in group[1:]
    ]


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
