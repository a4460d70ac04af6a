"""What the import readers hand back: typed rows, per-row errors with their messages, the result.

The messages are gettext msgids (English) translated by the imports catalogue, so a language
is one catalogue away; `lang` arguments take a Django language code ("zh" still means zh-hans).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

Kind = Literal["orders", "customers"]
ERROR_VALUE_CHARS = 200  # the part of a rejected cell an error keeps (stored on the job, shown)

# Message templates per error code (gettext msgids). Placeholders: {value}, {column}, {field},
# {fields}, {names}, {detail}, {limit}; RowError.message(lang) translates and fills them.
MESSAGES: dict[str, Any] = {
    "date_invalid": _(
        "“{value}” is not a date we recognise (write it like 2024-03-05 or 2024/3/5 14:03)."
    ),
    "date_ambiguous": _(
        "“{value}” could be day/month or month/day; write the year first, e.g. 2024-03-05."
    ),
    "date_out_of_range": _("“{value}” is outside the years 1900–2100."),
    "date_missing": _("The date is empty."),
    "amount_invalid": _(
        "“{value}” is not an amount (write it like 1234.50, ¥1,234.50 or 1234.5元)."
    ),
    "amount_negative": _("“{value}” is negative; amounts here must be zero or more."),
    "amount_too_large": _("“{value}” is too large for an amount."),
    "amount_missing": _("Neither an amount nor a unit price is given."),
    "discount_invalid": _(
        "“{value}” is not a discount (write an amount like 10.00, or a rate like 9折 or 90%)."
    ),
    "discount_needs_price": _(
        "The discount “{value}” is a rate, but there is no unit price to apply it to."
    ),
    "quantity_invalid": _("“{value}” is not a whole number of items."),
    "quantity_not_positive": _("The quantity “{value}” must be at least 1."),
    "quantity_too_large": _("The quantity “{value}” is too large."),
    "phone_invalid": _(
        "“{value}” is not a phone number (a mainland mobile has 11 digits, e.g. 13812345678)."
    ),
    "excel_scientific": _(
        "“{value}” was shortened by Excel into scientific notation; format the column as text and export again."
    ),
    "bool_invalid": _("“{value}” is not yes/no (write 是/否, Y/N or 1/0)."),
    "gender_invalid": _("“{value}” is not a gender (write 男/女 or M/F)."),
    "birthday_invalid": _(
        "“{value}” is not a birthday (write 1990-03-05, 3月5日, or 农历三月初五)."
    ),
    "birthday_future": _("The birthday “{value}” is in the future."),
    "email_invalid": _("“{value}” is not an email address."),
    "text_too_long": _("The text in “{column}” is longer than {limit} characters."),
    "customer_key_missing": _(
        "No customer is named: give a customer number, phone, WeChat ID or name."
    ),
    "customer_name_or_phone_missing": _("Give the customer's name or phone."),
    "missing_columns": _("The file has no column for: {fields}."),
    "mapping_unknown_field": _("“{value}” is not a field that can be imported."),
    "mapping_unknown_column": _("The file has no column “{value}”."),
    "mapping_invalid": _(
        "“{value}” is not a mapping; write it like 'column=field,column2=field2'."
    ),
    "header_not_found": _("No header row was found in the first rows of the file."),
    "file_empty": _("The file is empty."),
    "xlsx_too_large": _(
        "The workbook unpacks to more than {limit} MB (or is packed suspiciously tightly): split it into smaller files, or save it as CSV."
    ),
    "too_many_rows": _("The file has more than {limit} rows: split it into smaller files."),
    "too_many_columns": _(
        "Row {line} has {count} columns, more than the {limit} an import can take: delete the columns that are not needed."
    ),
    "cell_too_long": _(
        "Row {line}, column {col} holds more than {limit} characters (Excel's own limit): this is not a table of customers or orders."
    ),
    "file_unreadable": _("The file could not be read: {detail}."),
    "encoding_unknown": _(
        "The text encoding of the file is not UTF-8 or GBK; save it as UTF-8 and try again."
    ),
    "sheet_not_found": _("The workbook has no sheet “{value}” (sheets: {names})."),
    "bill_not_recognised": _("This is not a {value} bill export we recognise."),
    "bill_not_customers": _("Payment bills import orders and refunds, not customers."),
}

# Field names as a store owner reads them, for messages that name a field rather than a column.
FIELD_LABELS: dict[str, Any] = {
    "external_id": pgettext_lazy("import field", "order number / customer number"),
    "customer_external_id": pgettext_lazy("import field", "customer number"),
    "customer_name": pgettext_lazy("import field", "customer name"),
    "name": pgettext_lazy("import field", "name"),
    "phone": pgettext_lazy("import field", "phone"),
    "wechat": pgettext_lazy("import field", "WeChat ID"),
    "nickname": pgettext_lazy("import field", "nickname"),
    "placed_at": pgettext_lazy("import field", "order date"),
    "product_name": pgettext_lazy("import field", "product"),
    "sku": pgettext_lazy("import field", "SKU"),
    "category": pgettext_lazy("import field", "category"),
    "quantity": pgettext_lazy("import field", "quantity"),
    "unit_price": pgettext_lazy("import field", "unit price"),
    "unit_cost": pgettext_lazy("import field", "unit cost"),
    "amount": pgettext_lazy("import field", "amount paid"),
    "discount": pgettext_lazy("import field", "discount"),
    "store": pgettext_lazy("import field", "store"),
    "staff": pgettext_lazy("import field", "staff"),
    "source": pgettext_lazy("import field", "source"),
    "note": pgettext_lazy("import field", "note"),
    "payment_method": pgettext_lazy("import field", "payment method"),
    "gender": pgettext_lazy("import field", "gender"),
    "birthday": pgettext_lazy("import field", "birthday"),
    "consent": pgettext_lazy("import field", "marketing consent"),
    "city": pgettext_lazy("import field", "city"),
    "address": pgettext_lazy("import field", "address"),
    "email": pgettext_lazy("import field", "email"),
    "tags": pgettext_lazy("import field", "tags"),
    "joined_at": pgettext_lazy("import field", "joined on"),
    "referrer": pgettext_lazy("import field", "referred by"),
    "customer_key": pgettext_lazy(
        "import field", "a customer key (customer number, phone, WeChat ID or name)"
    ),
    "amount_or_price": pgettext_lazy("import field", "an amount or a unit price"),
    "name_or_phone": pgettext_lazy("import field", "a name or a phone"),
}


def django_language(lang: str) -> str:
    """The Django language code of `lang`: "zh" (the import command's word) is zh-hans."""
    return "zh-hans" if lang == "zh" else lang


def field_label(name: str, lang: str = "en") -> str:
    """The label of field `name` in `lang`; the raw name when unknown."""
    label = FIELD_LABELS.get(name)
    if label is None:
        return name
    with translation.override(django_language(lang)):
        return str(label)


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: file row (1-based; None for the whole file), column header, raw value, code."""

    row: int | None
    column: str | None
    value: str | None
    code: str
    message_en: str
    params: Mapping[str, object] = field(default_factory=dict)
    # The order the row would have been part of, when the row says enough to know it (its
    # visit's key for rows without an order number): a bad row rejects its whole visit.
    order: str | None = None

    def message(self, lang: str = "en") -> str:
        """The message in `lang` (a language code), filled with this error's value, column and fields."""
        return _format(self.code, lang, self.row, self.column, self.value, self.params)


def _format(
    code: str,
    lang: str,
    row: int | None,
    column: str | None,
    value: str | None,
    params: Mapping[str, object],
) -> str:
    with translation.override(django_language(lang)):
        template = str(MESSAGES.get(code, code))
        sep = pgettext("list separator", ", ")
    values: dict[str, object] = {"value": value or "", "column": column or "", "row": row or ""}
    values.update(params)
    if "field" in params:
        values["field"] = field_label(str(params["field"]), lang)
    fields = params.get("fields")
    if isinstance(fields, list | tuple):
        values["fields"] = sep.join(field_label(str(f), lang) for f in fields)
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        # A template naming a placeholder the caller did not give must not hide the error itself.
        return template


def make_error(
    row: int | None, column: str | None, value: object, code: str, **params: object
) -> RowError:
    """Build a RowError whose English message is filled in from MESSAGES."""
    # Clipped: an error keeps enough of the cell to find it, never a whole oversized cell.
    text = None if value is None else str(value)
    if text is not None and len(text) > ERROR_VALUE_CHARS:
        text = text[: ERROR_VALUE_CHARS - 1] + "…"
    return RowError(row, column, text, code, _format(code, "en", row, column, text, params), params)


@dataclass(frozen=True, slots=True)
class Birthday:
    """A birthday as customers give it: the year may be unknown, the calendar solar or lunar."""

    month: int
    day: int
    year: int | None = None
    lunar: bool = False
    leap_month: bool = False

    def solar_date(self) -> date | None:
        """The date itself, for a solar birthday with a known year; None otherwise."""
        if self.lunar or self.year is None:
            return None
        return date(self.year, self.month, self.day)


@dataclass(slots=True)
class ParsedOrderRow:
    """One order line from a file; rows sharing `external_id` belong to one order."""

    row: int
    placed_at: datetime
    amount: Decimal  # what the customer paid for this row, after discounts
    quantity: int = 1
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    discount: Decimal | None = None
    external_id: str | None = None  # order number; for bills the payment platform's transaction id
    merchant_order_id: str | None = None  # bills: the merchant's own order number (商户单号)
    customer_external_id: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    wechat: str | None = None
    nickname: str | None = None  # bills: the payer (交易对方) as the platform shows them
    payer_id: str | None = None  # bills: openid / masked account of the payer
    product_name: str | None = None
    sku: str | None = None
    category: str | None = None
    store: str | None = None
    staff: str | None = None
    source: str | None = None
    payment_method: str | None = None
    note: str | None = None
    row_key: str = ""  # set for rows without an order number (external_id): see rows.row_key

    @property
    def customer_key(self) -> str:
        """The first customer identifier present, in matching order."""
        return _first(
            self.customer_external_id,
            self.phone,
            self.wechat,
            self.customer_name,
            self.nickname,
            self.payer_id,
        )


@dataclass(slots=True)
class ParsedRefundRow:
    """A refund found in a payment bill; `original_external_id` names the refunded payment."""

    row: int
    refunded_at: datetime
    amount: Decimal  # positive
    external_id: str | None = None  # the refund's own id
    original_external_id: str | None = None
    merchant_order_id: str | None = None
    nickname: str | None = None
    payer_id: str | None = None
    source: str | None = None
    note: str | None = None
    row_key: str = ""


@dataclass(slots=True)
class ParsedCustomerRow:
    """One customer from a file."""

    row: int
    name: str | None = None
    phone: str | None = None
    external_id: str | None = None
    wechat: str | None = None
    nickname: str | None = None
    gender: str | None = None  # "f" or "m", as customers.models.Gender
    birthday: Birthday | None = None
    city: str | None = None
    address: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    store: str | None = None
    staff: str | None = None
    source: str | None = None
    joined_at: datetime | None = None
    referrer: str | None = None
    note: str | None = None
    consent: bool | None = None  # her marketing answer (all channels); None: no answer in the file


ParsedRow = ParsedOrderRow | ParsedCustomerRow | ParsedRefundRow


@dataclass
class ReadResult:
    """Everything read from one file: rows, refunds, errors and how the file was understood."""

    kind: Kind
    format: str  # "csv", "xlsx", "wechat" or "alipay"
    container: str | None = None  # "csv" or "xlsx" (bills come in both)
    variant: str | None = None  # bills: "personal" or "merchant"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # column -> field
    unmapped_columns: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    rows: list[ParsedOrderRow | ParsedCustomerRow] = field(default_factory=list)
    refunds: list[ParsedRefundRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    sample: list[list[str]] = field(default_factory=list)  # first raw data rows, for a preview
    rows_read: int = 0  # data rows looked at (after the header), blank ones included

    @property
    def fatal(self) -> bool:
        """True when the file as a whole could not be read (errors without a row)."""
        return any(e.row is None for e in self.errors)

    @property
    def ok(self) -> bool:
        """True when there is no error at all."""
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        """The file rows with at least one error, in order."""
        return sorted({e.row for e in self.errors if e.row is not None})


def _first(*values: str | None) -> str:
    for value in values:
        if value:
            return value
    return ""


_CENT = Decimal("0.01")


def row_key(
    customer_key: str,
    placed_at: datetime,
    product: str | None,
    amount: Decimal,
    occurrence: int = 0,
) -> str:
    """A stable id for a row without an order number: customer, time, product, amount, repeat no."""
    # The n-th identical row of one file gets n, so two genuine identical purchases in one file
    # stay two orders, while importing the same file again maps onto the same keys.
    if placed_at.microsecond:
        placed_at = placed_at.replace(microsecond=0)
    text = "\x1f".join(
        (
            customer_key.strip().casefold(),
            placed_at.isoformat(),
            (product or "").strip().casefold(),
            str(amount.quantize(_CENT)),
            str(occurrence),
        )
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
