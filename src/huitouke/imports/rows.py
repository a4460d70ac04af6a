"""What the import readers hand back: typed rows, per-row errors with zh/en messages, the result."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Kind = Literal["orders", "customers"]
ERROR_VALUE_CHARS = 200  # the part of a rejected cell an error keeps (stored on the job, shown)

# Message templates per error code. Placeholders: {value}, {column}, {field}, {fields},
# {names}, {detail}, {limit}. The lead moves these into gettext catalogues later; until then
# RowError.message(lang) formats them.
MESSAGES: dict[str, dict[str, str]] = {
    "date_invalid": {
        "en": "“{value}” is not a date we recognise (write it like 2024-03-05 or 2024/3/5 14:03).",
        "zh": "“{value}”不是可识别的日期（请写成 2024-03-05 或 2024/3/5 14:03）。",
    },
    "date_ambiguous": {
        "en": "“{value}” could be day/month or month/day; write the year first, e.g. 2024-03-05.",
        "zh": "“{value}”无法判断是日/月还是月/日，请把年份写在前面，例如 2024-03-05。",
    },
    "date_out_of_range": {
        "en": "“{value}” is outside the years 1900–2100.",
        "zh": "“{value}”不在 1900–2100 年之间。",
    },
    "date_missing": {"en": "The date is empty.", "zh": "日期为空。"},
    "amount_invalid": {
        "en": "“{value}” is not an amount (write it like 1234.50, ¥1,234.50 or 1234.5元).",
        "zh": "“{value}”不是有效金额（请写成 1234.50、¥1,234.50 或 1234.5元）。",
    },
    "amount_negative": {
        "en": "“{value}” is negative; amounts here must be zero or more.",
        "zh": "“{value}”是负数，这里的金额不能小于 0。",
    },
    "amount_too_large": {
        "en": "“{value}” is too large for an amount.",
        "zh": "“{value}”金额过大。",
    },
    "amount_missing": {
        "en": "Neither an amount nor a unit price is given.",
        "zh": "既没有金额，也没有单价。",
    },
    "discount_invalid": {
        "en": "“{value}” is not a discount (write an amount like 10.00, or a rate like 9折 or 90%).",
        "zh": "“{value}”不是有效折扣（请写金额如 10.00，或折扣率如 9折、90%）。",
    },
    "discount_needs_price": {
        "en": "The discount “{value}” is a rate, but there is no unit price to apply it to.",
        "zh": "折扣“{value}”是折扣率，但没有单价可以计算。",
    },
    "quantity_invalid": {
        "en": "“{value}” is not a whole number of items.",
        "zh": "“{value}”不是整数件数。",
    },
    "quantity_not_positive": {
        "en": "The quantity “{value}” must be at least 1.",
        "zh": "数量“{value}”至少为 1。",
    },
    "quantity_too_large": {
        "en": "The quantity “{value}” is too large.",
        "zh": "数量“{value}”过大。",
    },
    "phone_invalid": {
        "en": "“{value}” is not a phone number (a mainland mobile has 11 digits, e.g. 13812345678).",
        "zh": "“{value}”不是有效电话号码（大陆手机号为 11 位，例如 13812345678）。",
    },
    "excel_scientific": {
        "en": "“{value}” was shortened by Excel into scientific notation; format the column as text and export again.",
        "zh": "“{value}”已被 Excel 转成科学计数法，请把该列设为文本格式后重新导出。",
    },
    "bool_invalid": {
        "en": "“{value}” is not yes/no (write 是/否, Y/N or 1/0).",
        "zh": "“{value}”不是是/否（请写 是/否、Y/N 或 1/0）。",
    },
    "gender_invalid": {
        "en": "“{value}” is not a gender (write 男/女 or M/F).",
        "zh": "“{value}”不是有效性别（请写 男/女 或 M/F）。",
    },
    "birthday_invalid": {
        "en": "“{value}” is not a birthday (write 1990-03-05, 3月5日, or 农历三月初五).",
        "zh": "“{value}”不是有效生日（请写 1990-03-05、3月5日 或 农历三月初五）。",
    },
    "birthday_future": {
        "en": "The birthday “{value}” is in the future.",
        "zh": "生日“{value}”在将来，不可能。",
    },
    "email_invalid": {
        "en": "“{value}” is not an email address.",
        "zh": "“{value}”不是有效邮箱地址。",
    },
    "text_too_long": {
        "en": "The text in “{column}” is longer than {limit} characters.",
        "zh": "“{column}”中的文字超过 {limit} 个字符。",
    },
    "customer_key_missing": {
        "en": "No customer is named: give a customer number, phone, WeChat ID or name.",
        "zh": "没有指明顾客：请填写会员编号、手机、微信号或姓名之一。",
    },
    "customer_name_or_phone_missing": {
        "en": "Give the customer's name or phone.",
        "zh": "请填写顾客姓名或手机。",
    },
    "missing_columns": {
        "en": "The file has no column for: {fields}.",
        "zh": "文件缺少这些列：{fields}。",
    },
    "mapping_unknown_field": {
        "en": "“{value}” is not a field that can be imported.",
        "zh": "“{value}”不是可导入的字段。",
    },
    "mapping_unknown_column": {
        "en": "The file has no column “{value}”.",
        "zh": "文件中没有“{value}”这一列。",
    },
    "mapping_invalid": {
        "en": "“{value}” is not a mapping; write it like 'column=field,column2=field2'.",
        "zh": "“{value}”不是有效的列对应关系，请写成 '列名=字段,列名2=字段2'。",
    },
    "header_not_found": {
        "en": "No header row was found in the first rows of the file.",
        "zh": "文件开头几行中没有找到表头。",
    },
    "file_empty": {"en": "The file is empty.", "zh": "文件是空的。"},
    "xlsx_too_large": {
        "en": "The workbook unpacks to more than {limit} MB (or is packed suspiciously tightly): "
        "split it into smaller files, or save it as CSV.",
        "zh": "该工作簿解压后超过 {limit} MB（或压缩比异常）：请拆分成较小的文件，或另存为 CSV。",
    },
    "too_many_rows": {
        "en": "The file has more than {limit} rows: split it into smaller files.",
        "zh": "文件超过 {limit} 行：请拆分成较小的文件。",
    },
    "too_many_columns": {
        "en": "Row {line} has {count} columns, more than the {limit} an import can take: "
        "delete the columns that are not needed.",
        "zh": "第 {line} 行有 {count} 列，超过导入允许的 {limit} 列：请删除不需要的列。",
    },
    "cell_too_long": {
        "en": "Row {line}, column {col} holds more than {limit} characters (Excel's own "
        "limit): this is not a table of customers or orders.",
        "zh": "第 {line} 行第 {col} 列超过 {limit} 个字符（Excel 本身的上限）：这不是客户或订单表。",
    },
    "file_unreadable": {
        "en": "The file could not be read: {detail}.",
        "zh": "无法读取该文件：{detail}。",
    },
    "encoding_unknown": {
        "en": "The text encoding of the file is not UTF-8 or GBK; save it as UTF-8 and try again.",
        "zh": "文件编码不是 UTF-8 或 GBK，请另存为 UTF-8 后重试。",
    },
    "sheet_not_found": {
        "en": "The workbook has no sheet “{value}” (sheets: {names}).",
        "zh": "工作簿中没有“{value}”工作表（现有：{names}）。",
    },
    "bill_not_recognised": {
        "en": "This is not a {value} bill export we recognise.",
        "zh": "无法识别为{value}账单导出文件。",
    },
    "bill_not_customers": {
        "en": "Payment bills import orders and refunds, not customers.",
        "zh": "支付账单只能导入订单和退款，不能导入顾客。",
    },
}

# Field names as a store owner reads them, for messages that name a field rather than a column.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "external_id": {"en": "order number / customer number", "zh": "订单号/会员编号"},
    "customer_external_id": {"en": "customer number", "zh": "会员编号"},
    "customer_name": {"en": "customer name", "zh": "顾客姓名"},
    "name": {"en": "name", "zh": "姓名"},
    "phone": {"en": "phone", "zh": "手机"},
    "wechat": {"en": "WeChat ID", "zh": "微信号"},
    "nickname": {"en": "nickname", "zh": "昵称"},
    "placed_at": {"en": "order date", "zh": "下单日期"},
    "product_name": {"en": "product", "zh": "产品名称"},
    "sku": {"en": "SKU", "zh": "商品编码"},
    "category": {"en": "category", "zh": "品类"},
    "quantity": {"en": "quantity", "zh": "数量"},
    "unit_price": {"en": "unit price", "zh": "售价"},
    "unit_cost": {"en": "unit cost", "zh": "拿货价"},
    "amount": {"en": "amount paid", "zh": "实付金额"},
    "discount": {"en": "discount", "zh": "优惠"},
    "store": {"en": "store", "zh": "门店"},
    "staff": {"en": "staff", "zh": "导购"},
    "source": {"en": "source", "zh": "来源"},
    "note": {"en": "note", "zh": "备注"},
    "payment_method": {"en": "payment method", "zh": "支付方式"},
    "gender": {"en": "gender", "zh": "性别"},
    "birthday": {"en": "birthday", "zh": "生日"},
    "consent": {"en": "marketing consent", "zh": "同意营销"},
    "city": {"en": "city", "zh": "城市"},
    "address": {"en": "address", "zh": "地址"},
    "email": {"en": "email", "zh": "邮箱"},
    "tags": {"en": "tags", "zh": "标签"},
    "joined_at": {"en": "joined on", "zh": "入会日期"},
    "referrer": {"en": "referred by", "zh": "推荐人"},
    "customer_key": {
        "en": "a customer key (customer number, phone, WeChat ID or name)",
        "zh": "顾客标识（会员编号、手机、微信号或姓名）",
    },
    "amount_or_price": {"en": "an amount or a unit price", "zh": "金额或单价"},
    "name_or_phone": {"en": "a name or a phone", "zh": "姓名或手机"},
}


def field_label(name: str, lang: str = "en") -> str:
    """The label of field `name` in `lang` ("en" or "zh"); the raw name when unknown."""
    labels = FIELD_LABELS.get(name)
    if labels is None:
        return name
    return labels.get(lang, labels["en"])


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
        """The message in `lang` ("en" or "zh"), filled with this error's value, column and fields."""
        return _format(self.code, lang, self.row, self.column, self.value, self.params)


def _format(
    code: str,
    lang: str,
    row: int | None,
    column: str | None,
    value: str | None,
    params: Mapping[str, object],
) -> str:
    templates = MESSAGES.get(code, {})
    template = templates.get(lang) or templates.get("en") or code
    sep = "、" if lang == "zh" else ", "
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
