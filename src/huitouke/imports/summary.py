"""What an import did (or, in a dry run, would do): counts, errors, a preview and the payers."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from huitouke.imports.rows import MESSAGES, ParsedOrderRow, ParsedRefundRow, RowError, make_error

ALL_OR_NOTHING = "all_or_nothing"
GOOD_ROWS = "good_rows"
MODES = (ALL_OR_NOTHING, GOOD_ROWS)
PREVIEW_ROWS = 10
ROW_PREFIX = "row:"
VISIT_PREFIX = "visit:"

# The counts an import keeps in its details, as the job page names them. A count without a label
# (a future one) is left off the page rather than shown as its code.
DETAIL_LABELS: dict[str, Any] = {
    "customers_created": _("customers created"),
    "customers_updated": _("customers updated"),
    "customers_unchanged": _("customers unchanged"),
    "orders_created": _("orders created"),
    "orders_existing": _("orders already imported"),
    "order_rows": _("rows in new orders"),
    "order_rows_appended": _("rows joining an order begun earlier in the file"),
    "order_rows_added": _("rows added to a visit imported before without them"),
    "refunds_created": _("refunds recorded"),
    "refunds_existing": _("refunds already recorded"),
    "tags_created": _("tags created"),
    "products": _("products created"),
    "categories": _("categories created"),
    "stores": _("stores created"),
    "hook_failures": _("follow-up steps that failed (see the log)"),
}


def labelled_details(details: dict[str, int]) -> list[tuple[str, int]]:
    """The import's counts as (label, count) for the job page, in the table's order."""
    return [(str(label), details[k]) for k, label in DETAIL_LABELS.items() if details.get(k)]


# Problems only the database can reveal, in the readers' message table so that RowError.message()
# renders them in both languages like every other row error.
COMMIT_MESSAGES: dict[str, Any] = {
    "customer_ambiguous": _(
        "More than one customer is called “{value}”; add her phone or customer number."
    ),
    "customer_not_found": _("No customer matches “{value}”, and creating customers is turned off."),
    "phone_taken": _("The phone {value} already belongs to another customer."),
    "external_id_taken": _("The customer number “{value}” already belongs to another customer."),
    "order_line_rejected": _(
        "Another row of order “{value}” has an error, so the whole order was left out."
    ),
    "visit_line_rejected": _(
        "Row {bad_row} of the same visit (same customer, store and time) has an error, so the whole visit was left out."
    ),
    "refund_order_not_found": _("The payment refunded here (“{value}”) is not among the orders."),
    "refund_rejected": _("The refund could not be recorded: {detail}"),
}
for _code, _text in COMMIT_MESSAGES.items():
    MESSAGES.setdefault(_code, _text)


@dataclass
class ImportSummary:
    """The outcome of one import run; `as_dict` is the CLI's JSON and the job's stored summary."""

    kind: str
    mode: str = ALL_OR_NOTHING
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    details: Counter[str] = field(default_factory=Counter)
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    preview: list[dict[str, Any]] = field(default_factory=list)
    payers: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: str = ""
    variant: str | None = None
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    rows_read: int = 0
    total: int = 0
    committed: bool = False
    rolled_back: bool = False
    cancelled: bool = False
    touched: set[int] = field(default_factory=set)

    @property
    def rejected_rows(self) -> int:
        """Rows with at least one error."""
        return len({e.row for e in self.errors if e.row is not None})

    @property
    def fatal(self) -> bool:
        """True when the file as a whole could not be read or mapped."""
        return any(e.row is None for e in self.errors)

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON summary (DESIGN §8): created, updated, skipped, errors, and the details."""
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": [
                {
                    "row": e.row,
                    "column": e.column,
                    "value": e.value,
                    "code": e.code,
                    "message": e.message(lang),
                }
                for e in self.errors
            ],
            "rejected_rows": self.rejected_rows,
            "details": dict(sorted(self.details.items())),
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
            "kind": self.kind,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "rolled_back": self.rolled_back,
            "cancelled": self.cancelled,
            "format": self.format,
            "variant": self.variant,
            "rows_read": self.rows_read,
        }

    def for_job(self) -> dict[str, Any]:
        """What an ImportJob keeps of the run for its page (errors are stored separately)."""
        data = self.as_dict()
        del data["errors"]
        data.update(
            columns=self.columns,
            mapping=self.mapping,
            unmapped=self.unmapped,
            missing=self.missing,
            sample=self.sample,
            preview=self.preview,
            payers=list(self.payers.values()),
            total=self.total,
        )
        return data


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
    unsaved: set[str] = field(default_factory=set)  # visits saved earlier, taken out again
    visit_rows: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class SimOrder:
    """An order a dry run would create (for refunds and repeated order numbers)."""

    customer: int | None
    placed_at: datetime
    net: Decimal


def order_key(row: ParsedOrderRow) -> str:
    """The Order.external_id an order row is saved under: its order number or its row hash."""
    return row.external_id or ROW_PREFIX + row.row_key


def visit_key(row: ParsedOrderRow) -> str:
    """The Order.external_id of a visit: rows without an order number sharing customer, store, time.

    A shop's own order book has one row per product and often only the date: the rows of one
    customer, store and time (the date when no time is given, which reads as midnight) are one
    order with several lines. Rows with an order number keep it.
    """
    if row.external_id:
        return row.external_id
    placed_at = row.placed_at.replace(microsecond=0)
    text = "\x1f".join(
        (
            row.customer_key.strip().casefold(),
            (row.store or "").strip().casefold(),
            placed_at.isoformat(),
        )
    )
    return VISIT_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def row_order_key(row: ParsedOrderRow) -> str | None:
    """The key the row would have had as an order of its own (None for rows with a number)."""
    return None if row.external_id else ROW_PREFIX + row.row_key


def refund_key(row: ParsedRefundRow) -> str:
    """The Refund.external_id a refund row is saved under."""
    return row.external_id or ROW_PREFIX + row.row_key


def name_key(row: ParsedOrderRow) -> str | None:
    """The name a row's customer goes by: her name, else the payer's nickname or account."""
    return row.customer_name or row.nickname or row.payer_id


def for_each_row(error: RowError, group: list[ParsedOrderRow]) -> list[RowError]:
    """The same error for every row of an order."""
    return [error] + [
        make_error(r.row, error.column, error.value, error.code, **error.params) for r in group[1:]
    ]
