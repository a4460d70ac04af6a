"""Read an import file into typed rows: CSV (UTF-8, BOM, GBK, GB18030), XLSX, WeChat/Alipay bills.

`read_file` collects everything into a ReadResult; `iter_file` streams the same rows one by one
for large files. Rows keep their 1-based row number in the file (the number Excel shows), so
every error names the row a store owner has to fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from itertools import chain, islice
from typing import IO, Literal

from charset_normalizer import from_bytes
from python_calamine import CalamineError, CalamineWorkbook

from huitouke.imports import bills
from huitouke.imports.mapping import (
    CUSTOMER_KEY_FIELDS,
    ColumnMapping,
    build_mapping,
    find_header,
    normalise_header,
    parse_mapping_spec,
)
from huitouke.imports.parsing import (
    INVISIBLE,
    CellValue,
    ParseError,
    clean_text,
    parse_amount,
    parse_birthday,
    parse_bool,
    parse_datetime,
    parse_discount,
    parse_email,
    parse_gender,
    parse_phone,
    parse_quantity,
    parse_tags,
)
from huitouke.imports.rows import (
    Kind,
    ParsedCustomerRow,
    ParsedOrderRow,
    ParsedRefundRow,
    ReadResult,
    RowError,
    make_error,
    row_key,
)
from huitouke.imports.summary import visit_key

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]
Format = Literal["auto", "csv", "xlsx", "wechat", "alipay"]
Item = ParsedOrderRow | ParsedCustomerRow | ParsedRefundRow | RowError
RawRows = Iterator[tuple[int, list[CellValue]]]

FORMATS = ("auto", "csv", "xlsx", "wechat", "alipay")
HEADER_SCAN_ROWS = 30  # a title block above the header is rarely longer
BILL_SCAN_ROWS = 60  # Alipay's app export puts ~25 lines of notices above its table
SAMPLE_ROWS = 5
CHUNK = 1 << 20
ENCODINGS = ("utf-8", "gbk", "gb18030")  # tried in order; GB18030 is GBK's superset

# Limits checked before any work, so that no file can take the worker's memory or time (a
# 511 KB xlsx can hold a 500 MB string; a one-line CSV a million columns). Excel's own limits
# where it has them: 1,048,576 rows, 32,767 characters per cell.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 500
MAX_CELL_CHARS = 32_767
SAMPLE_CHARS = 100  # a preview cell, as stored on the job and shown on its page
MB = 1 << 20
MAX_XLSX_RATIO = 100  # real sheets compress 5-30 times; a bomb thousands of times


@dataclass(frozen=True)
class WorkbookLimits:
    """How far a workbook may unpack, checked on the zip's directory before anything is parsed.

    calamine holds the chosen sheet's cells in memory, about the size of its XML, so the part
    limit bounds the reader's memory and time as well as the unpacking.
    """

    part: int  # one worksheet's XML
    shared: int  # the shared strings, held in memory whole
    total: int  # every part together
    xls_file: int  # an old .xls is not compressed: its size is what gets parsed
    ratio: int = MAX_XLSX_RATIO


# Uploads through the web (issue 14): anyone with an owner's login can send one, and the worker
# parsing it serves every shop on the installation.
UPLOAD_LIMITS = WorkbookLimits(part=256 * MB, shared=64 * MB, total=512 * MB, xls_file=256 * MB)
# `huitouke import` on the command line: the owner's own file on her own machine. Sized to a
# sheet as long as Excel allows (1,048,576 rows) at 1 KB of XML a row, a 20-30 column export
# with its text inline; the 1M-row, 8-column order file of bench/imports.py unpacks to 448 MB.
# An .xls holds at most 65,536 rows: its limit stays.
LOCAL_LIMITS = WorkbookLimits(part=1024 * MB, shared=256 * MB, total=1536 * MB, xls_file=256 * MB)

# Longest text each field may hold (the model's column sizes), checked here so the error
# names the row and column instead of failing at save time.
ORDER_TEXT_LIMITS = {
    "external_id": 100, "customer_external_id": 64, "customer_name": 100, "wechat": 64,
    "nickname": 100, "product_name": 100, "sku": 50, "category": 50, "store": 100, "staff": 100,
    "source": 50, "payment_method": 50, "note": 200,
}  # fmt: skip
CUSTOMER_TEXT_LIMITS = {
    "external_id": 64, "name": 100, "wechat": 64, "nickname": 100, "city": 50, "address": 200,
    "store": 100, "staff": 100, "source": 50, "referrer": 100, "note": 2000,
}  # fmt: skip
ID_FIELDS = {"external_id", "customer_external_id", "sku"}
TOTAL_WORDS = {"合计", "总计", "小计", "汇总", "total", "totals", "sum", "grandtotal"}


class _FileProblem(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message_en)
        self.error = error


def _problem(code: str, value: object = None, **params: object) -> _FileProblem:
    return _FileProblem(make_error(None, None, value, code, **params))


# --- bytes to rows -------------------------------------------------------------------------


def detect_encoding(stream: IO[bytes]) -> str | None:
    """utf-8-sig, utf-16, utf-8, gbk or gb18030 (the first that decodes the whole stream), or a guess."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    for encoding in ENCODINGS:
        if _decodes(stream, encoding):
            return encoding
    sample = stream.read(CHUNK)
    stream.seek(start)

    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    start = stream.tell()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(start)


def sniff_delimiter(sample: str) -> str:
    """',', tab, ';' or '|': the one splitting most lines into the same number (>1) of cells."""
    lines = sample.splitlines()[:60]
    best, best_score = ",", (0, 0)
    for delimiter in (",", "\t", ";", "|"):
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter) if len(r) > 1]
        if not counts:
            continue
        mode, _ = Counter(counts).most_common(1)[0]
        score = (counts.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(text: IO[str], delimiter: str) -> RawRows:
    reader = csv.reader(text, delimiter=delimiter)
    # Numbered by record, not by physical line: a cell with a line break is still one row in
    # Excel, and that is the number the owner will look for.
    for number, cells in enumerate(reader, start=1):  # the reader gives a new list per record
        # Every cell of a CSV is text: a row inside all the limits (nearly all) is checked in
        # one pass here; _within_limits finds what is wrong with the others.
        if (
            number <= MAX_ROWS
            and len(cells) <= MAX_COLUMNS
            and (not cells or max(map(len, cells)) <= MAX_CELL_CHARS)
        ):
            yield number, cells  # type: ignore[misc]
        else:
            yield number, _within_limits(number, cells)  # type: ignore[arg-type]


def _workbook_rows(sheet: object) -> RawRows:
    """A calamine sheet's rows as openpyxl gave them, numbered as Excel shows them.

    calamine yields every row from the first (so numbers match Excel's) but drops the empty
    columns left of the first used one, and gives "" for an empty cell, a float for every
    number and a date for a date-only cell. The rows are put back to what the parsers were
    built on (openpyxl's values): the left columns padded, None for empty, a whole number as
    int (Excel stores 13800138000 as 13800138000.0; "13800138000.0" is not a phone), a date as
    midnight.
    """
    start = sheet.start  # type: ignore[attr-defined]
    pad = [None] * (start[1] if start else 0)
    for number, raw in enumerate(sheet.iter_rows(), start=1):  # type: ignore[attr-defined]
        cells: list[CellValue] = [*pad]
        add = cells.append
        for cell in raw:
            kind = type(cell)
            if kind is str:
                add(cell or None)
            elif kind is float:
                # Below 1e15 (Excel's 15 digits) a whole number was stored as one; above it,
                # openpyxl saw the exponent Excel writes, and the parsers refuse a shortened id.
                add(int(cell) if cell.is_integer() and -1e15 < cell < 1e15 else cell)
            elif kind is date:
                add(datetime(cell.year, cell.month, cell.day))
            else:
                add(cell)
        while cells and cells[-1] is None:
            cells.pop()
        yield number, _within_limits(number, cells)


def _within_limits(number: int, cells: list[CellValue]) -> list[CellValue]:
    """The row's cells, or a file problem when the row is past the rows, columns or cell limits."""
    if number > MAX_ROWS:
        raise _problem("too_many_rows", limit=MAX_ROWS)
    if len(cells) > MAX_COLUMNS:
        while cells and cells[-1] in (None, ""):  # formatting-only cells at the end
            cells.pop()
        if len(cells) > MAX_COLUMNS:
            raise _problem("too_many_columns", line=number, count=len(cells), limit=MAX_COLUMNS)
    for index, cell in enumerate(cells):
        if type(cell) is str and len(cell) > MAX_CELL_CHARS:
            raise _problem("cell_too_long", cell, line=number, col=index + 1, limit=MAX_CELL_CHARS)
    return cells


def _check_xlsx_parts(binary: IO[bytes], limits: WorkbookLimits = UPLOAD_LIMITS) -> bool:
    """Refuse a workbook whose parts would unpack past `limits` (a zip bomb, or too much work).

    The refusal names the limit that was passed.

    Returns whether an .xlsx counts its dates from 1904 (old Mac Excel), read from the head of
    its workbook part once the sizes passed: calamine dates formatted cells itself, but a plain
    number in a date column is a serial the parser converts.
    """
    start = binary.tell()
    try:
        with zipfile.ZipFile(binary) as archive:
            infos = archive.infolist()
            total = 0
            for info in infos:
                size = info.file_size
                total += size
                limit = (
                    limits.shared
                    if info.filename.lower().endswith(("sharedstrings.xml", "sharedstrings.bin"))
                    else limits.part
                )
                if size > limit:
                    raise _problem("xlsx_too_large", limit=limit // MB)
                if total > limits.total or (
                    size > MB and size > limits.ratio * max(info.compress_size, 1)
                ):
                    raise _problem("xlsx_too_large", limit=limits.total // MB)
            if "xl/workbook.xml" not in archive.NameToInfo:
                return False
            with archive.open("xl/workbook.xml") as part:
                head = part.read(64 * 1024)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _problem("file_unreadable", detail=str(exc) or type(exc).__name__) from None
    finally:
        binary.seek(start)
    return _DATE_1904.search(head) is not None


_DATE_1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")


def _sample(cells: Sequence[CellValue]) -> list[str]:
    """A preview row as stored on the job: clipped cells, so the job page stays small."""
    return [clip(clean_text(c), SAMPLE_CHARS) for c in cells]


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Table:
    container: str
    rows: RawRows
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    epoch_1904: bool = False


def _open_binary(source: Source, stack: ExitStack) -> IO[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        try:
            return stack.enter_context(open(source, "rb"))  # closed by the stack
        except OSError as exc:
            raise _problem(
                "file_unreadable", os.fspath(source), detail=exc.strerror or str(exc)
            ) from None
    if source.seekable():
        return source
    return io.BytesIO(source.read())


def _open_table(
    source: Source,
    fmt: str,
    sheet: str | int | None,
    stack: ExitStack,
    limits: WorkbookLimits = UPLOAD_LIMITS,
) -> _Table:
    binary = _open_binary(source, stack)
    start = binary.tell()
    magic = binary.read(8)
    binary.seek(start)
    if not magic:
        raise _problem("file_empty")
    if magic.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: an old .xls (Excel 97-2003)
        if fmt == "csv":
            raise _problem("file_unreadable", detail="this is an Excel workbook, not a CSV file")
        binary.seek(0, os.SEEK_END)
        size = binary.tell() - start
        binary.seek(start)
        if size > limits.xls_file:
            raise _problem("xlsx_too_large", limit=limits.xls_file // MB)
        return _open_workbook(binary, sheet, stack, epoch_1904=False)
    if magic.startswith(b"PK\x03\x04"):  # a zip: .xlsx, .xlsb or .ods
        if fmt == "csv":
            raise _problem("file_unreadable", detail="this is an Excel workbook, not a CSV file")
        # Every part's unpacked size is checked before anything is unpacked.
        epoch_1904 = _check_xlsx_parts(binary, limits)
        return _open_workbook(binary, sheet, stack, epoch_1904=epoch_1904)
    if fmt == "xlsx":
        raise _problem("file_unreadable", detail="this is not an Excel workbook")
    return _open_csv(binary, stack)


def _open_csv(binary: IO[bytes], stack: ExitStack) -> _Table:
    encoding = detect_encoding(binary)
    if encoding is None:
        raise _problem("encoding_unknown")
    start = binary.tell()
    head = binary.read(64 * 1024)
    binary.seek(start)
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    delimiter = sniff_delimiter(sample)
    # A guessed (non-UTF/GB) encoding may still meet stray bytes: replace rather than stop.
    errors = "strict" if encoding in ENCODINGS or encoding.startswith("utf") else "replace"
    text = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
    # Detach rather than close: the caller may own the binary stream (an upload).
    stack.callback(text.detach)
    return _Table("csv", _csv_rows(text, delimiter), encoding=encoding, delimiter=delimiter)


def _open_workbook(
    binary: IO[bytes], sheet: str | int | None, stack: ExitStack, *, epoch_1904: bool
) -> _Table:
    """A workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) read by calamine (Rust), once its size passed.

    Formula cells give their last computed value, as Excel shows them. The container is
    "xlsx" for every kind: the error report of a workbook is written as .xlsx.
    """

    try:
        workbook = CalamineWorkbook.from_filelike(binary)  # type: ignore[arg-type]
    except (CalamineError, ValueError, OSError) as exc:
        raise _problem("file_unreadable", detail=str(exc) or type(exc).__name__) from None
    stack.callback(workbook.close)
    names = [
        meta.name
        for meta in workbook.sheets_metadata
        if str(meta.typ).endswith("WorkSheet")  # not chart sheets, as openpyxl's worksheets
    ] or list(workbook.sheet_names)
    if sheet is None:
        name = names[0] if names else None
    elif isinstance(sheet, int):
        name = names[sheet] if 0 <= sheet < len(names) else None
    else:
        name = sheet if sheet in names else None
    if name is None:
        raise _problem("sheet_not_found", sheet, names="、".join(names))
    try:
        worksheet = workbook.get_sheet_by_name(name)
    except (CalamineError, ValueError) as exc:
        raise _problem("file_unreadable", detail=str(exc) or type(exc).__name__) from None
    return _Table("xlsx", _workbook_rows(worksheet), sheet=name, epoch_1904=epoch_1904)


# --- rows to records -----------------------------------------------------------------------


class _Keys:
    """Row keys for one file; the n-th repeat of an identical row gets occurrence n.

    Rows with an order number need no key, but still count as repeats of the rows without
    one that follow them. They are only noted (no hashing) until the first row without an
    order number appears: a file where every row has one never hashes a row.
    """

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.unkeyed: list[tuple[str, datetime, str | None, Decimal]] | None = []

    def __call__(
        self, customer_key: str, placed_at: datetime, product: str | None, amount: Decimal
    ) -> str:
        if self.unkeyed is not None:
            for earlier in self.unkeyed:
                self._count(*earlier)
            self.unkeyed = None
        base, count = self._count(customer_key, placed_at, product, amount)
        return base if count == 0 else row_key(customer_key, placed_at, product, amount, count)

    def note(
        self, customer_key: str, placed_at: datetime, product: str | None, amount: Decimal
    ) -> None:
        """Count a row that has an order number (and so needs no key of its own)."""
        if self.unkeyed is not None:
            self.unkeyed.append((customer_key, placed_at, product, amount))
        else:
            self._count(customer_key, placed_at, product, amount)

    def _count(
        self, customer_key: str, placed_at: datetime, product: str | None, amount: Decimal
    ) -> tuple[str, int]:
        """The row's first-occurrence key, and how many identical rows came before it."""
        base = row_key(customer_key, placed_at, product, amount)
        count = self.seen.get(base, 0)
        self.seen[base] = count + 1
        return base, count


class _RowBuilder:
    """Turns the cells of one data row into a parsed row or its errors, using the mapping."""

    def __init__(self, kind: Kind, mapping: ColumnMapping, epoch_1904: bool, keys: _Keys) -> None:
        self.kind = kind
        self.epoch_1904 = epoch_1904
        self.keys = keys
        self.index = {name: i for i, name in mapping.fields.items()}
        self.header = {name: mapping.columns[i] for i, name in mapping.fields.items()}
        self.limits = ORDER_TEXT_LIMITS if kind == "orders" else CUSTOMER_TEXT_LIMITS
        self.date_index = self.index.get("placed_at" if kind == "orders" else "joined_at")
        # One parser per mapped column, chosen once: the per-row loop is the hot path. Plain
        # text fields get None and a length limit, and are handled inline.
        self.plan = [
            (
                name,
                i,
                self.header[name],
                self._parser(name),
                self.limits.get(name, 255),
                name in ID_FIELDS,
            )
            for name, i in self.index.items()
        ]

    def is_summary(self, cells: Sequence[CellValue]) -> bool:
        """A totals line (合计 …) without a date: spreadsheets often end with one."""
        index = self.date_index
        if index is not None and index < len(cells) and clean_text(cells[index]):
            return False
        # The label sits in one of the first columns; looking only there keeps this cheap.
        return any(isinstance(c, str) and normalise_header(c) in TOTAL_WORDS for c in cells[:3])

    def build(self, number: int, cells: Sequence[CellValue]) -> Item | list[RowError]:
        """The parsed row, or the list of everything wrong with it."""
        errors: list[RowError] = []
        # Only fields with a value go in: the row classes default every other field to None.
        values: dict[str, object] = {}
        width = len(cells)
        for name, index, column, parser, limit, is_id in self.plan:
            raw = cells[index] if index < width else None
            if parser is None:
                if type(raw) is str:
                    text = raw.strip()
                    if not text:
                        continue
                    if (
                        text[0] not in INVISIBLE
                        and text[0] != "'"  # our quoted formulas: clean_text unquotes them
                        and text[-1] not in INVISIBLE
                        and len(text) <= limit
                        and not (is_id and "+" in text)  # 1.23E+15: see _text
                    ):
                        values[name] = text
                        continue
                parser = partial(_text, limit=limit, is_id=is_id)
            try:
                value = parser(raw)
            except ParseError as exc:
                errors.append(make_error(number, column, clean_text(raw), exc.code, **exc.params))
                continue
            if value is not None:
                values[name] = value
        if self.kind == "orders":
            return self._order(number, values, errors)
        return self._customer(number, values, errors)

    def _parser(self, name: str) -> Callable[[CellValue], object] | None:
        epoch_1904 = self.epoch_1904
        if name in ("placed_at", "joined_at"):
            return partial(parse_datetime, epoch_1904=epoch_1904)
        if name == "birthday":
            return partial(parse_birthday, epoch_1904=epoch_1904)
        if name == "discount":
            return lambda raw: raw  # needs the price; parsed in _order
        if name in _REPEATING:
            # Prices, quantities and phones repeat down a file: parse each distinct cell once.
            return _memoised(_REPEATING[name])
        special: dict[str, Callable[[CellValue], object]] = {
            "gender": parse_gender,
            "consent": parse_bool,
            "email": parse_email,
            "tags": parse_tags,
        }
        if name in special:
            return special[name]
        return None  # text and ids, handled inline in build()

    def _order(
        self, number: int, values: dict[str, object], errors: list[RowError]
    ) -> ParsedOrderRow | list[RowError]:
        quantity = values.get("quantity") or 1
        price = values.get("unit_price")
        gross = (
            price * quantity if isinstance(price, Decimal) and isinstance(quantity, int) else None
        )
        discount: Decimal | None = None
        raw_discount = values.pop("discount", None)
        if raw_discount not in (None, ""):
            try:
                discount = parse_discount(raw_discount, gross)  # type: ignore[arg-type]
            except ParseError as exc:
                errors.append(
                    make_error(number, self.header["discount"], clean_text(raw_discount), exc.code)  # type: ignore[arg-type]
                )
        amount = values.get("amount")
        if amount is None and isinstance(gross, Decimal):
            amount = gross if discount is None else gross - discount
            if amount < 0:
                errors.append(
                    make_error(
                        number, self.header.get("discount"), str(discount), "amount_negative"
                    )
                )
        if _CUSTOMER_KEYS.isdisjoint(values) and not _has_error(
            errors, CUSTOMER_KEY_FIELDS, self.header
        ):
            errors.append(make_error(number, None, None, "customer_key_missing"))
        if values.get("placed_at") is None and not _has_error(errors, ("placed_at",), self.header):
            errors.append(make_error(number, self.header.get("placed_at"), None, "date_missing"))
        if amount is None and not _has_error(
            errors, ("amount", "unit_price", "quantity", "discount"), self.header
        ):
            column = self.header.get("amount") or self.header.get("unit_price")
            errors.append(make_error(number, column, None, "amount_missing"))
        if errors:
            return _with_visit(number, values, errors, self.header)
        assert isinstance(amount, Decimal)
        values["quantity"] = quantity
        values["amount"] = amount
        order = ParsedOrderRow(row=number, discount=discount, **values)  # type: ignore[arg-type]
        if order.external_id:
            self.keys.note(order.customer_key, order.placed_at, order.product_name, amount)
        else:
            order.row_key = self.keys(
                order.customer_key, order.placed_at, order.product_name, amount
            )
        return order

    def _customer(
        self, number: int, values: dict[str, object], errors: list[RowError]
    ) -> ParsedCustomerRow | list[RowError]:
        if (
            not values.get("name")
            and not values.get("phone")
            and not _has_error(errors, ("name", "phone"), self.header)
        ):
            errors.append(make_error(number, None, None, "customer_name_or_phone_missing"))
        if errors:
            return errors
        if values.get("tags") is None:
            values["tags"] = ()
        return ParsedCustomerRow(row=number, **values)  # type: ignore[arg-type]


_REPEATING: dict[str, Callable[[CellValue], object]] = {
    "amount": parse_amount,
    "unit_price": parse_amount,
    "unit_cost": parse_amount,
    "quantity": parse_quantity,
    "phone": parse_phone,
}
_CUSTOMER_KEYS = frozenset(CUSTOMER_KEY_FIELDS)
MEMO_SIZE = 50_000  # distinct cells remembered per column before starting afresh


_VISIT_FIELDS = (*CUSTOMER_KEY_FIELDS, "payer_id", "store")


def _with_visit(
    number: int, values: dict[str, object], errors: list[RowError], header: Mapping[str, str]
) -> list[RowError]:
    """A bad order row's errors, each naming the visit the row belongs to when that is known.

    Rows without an order number sharing customer, store and time are one order (a visit); a
    bad one must reject its whole visit. Its visit is known when its date and the customer's
    key were read (a bad date or phone leaves the row on its own).
    """
    placed_at = values.get("placed_at")
    if values.get("external_id") or not isinstance(placed_at, datetime):
        return errors
    if _CUSTOMER_KEYS.isdisjoint(values) or _has_error(errors, CUSTOMER_KEY_FIELDS, header):
        return errors
    identity = {k: values[k] for k in _VISIT_FIELDS if isinstance(values.get(k), str)}
    key = visit_key(ParsedOrderRow(row=number, placed_at=placed_at, amount=Decimal(0), **identity))  # type: ignore[arg-type]
    return [replace(e, order=key) for e in errors]


def _memoised(parse: Callable[[CellValue], object]) -> Callable[[CellValue], object]:
    """`parse` remembering its results for text cells (bad cells are parsed again each time)."""
    memo: dict[str, object] = {}

    def parse_cell(raw: CellValue) -> object:
        if type(raw) is not str:
            return parse(raw)
        try:
            return memo[raw]
        except KeyError:
            pass
        value = parse(raw)  # a ParseError leaves nothing behind
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[raw] = value
        return value

    return parse_cell


def _text(raw: CellValue, limit: int, is_id: bool) -> str | None:
    if is_id and isinstance(raw, float) and abs(raw) >= 1e15:
        raise ParseError("excel_scientific")  # Excel kept only 15 significant digits
    text = clean_text(raw)
    if not text:
        return None
    if is_id and "E+" in text.upper():
        mantissa = text.upper().split("E+")[0].replace(".", "")
        if mantissa.isdigit():
            raise ParseError("excel_scientific")
    if len(text) > limit:
        raise ParseError("text_too_long", limit=limit)
    return text


def _has_error(errors: list[RowError], names: Sequence[str], header: Mapping[str, str]) -> bool:
    columns = {header[n] for n in names if n in header}
    return any(e.column in columns for e in errors)


def _blank(cells: Sequence[CellValue]) -> bool:
    for cell in cells:  # a plain loop: most rows stop at their first cell
        if cell is not None and (not isinstance(cell, str) or cell.strip()):
            return False
    return True


# --- the entry points ----------------------------------------------------------------------


class FileStream:
    """An open import file: `result` describes it (format, mapping, file errors); iterate for rows.

    Iteration yields ParsedOrderRow / ParsedCustomerRow / ParsedRefundRow / RowError items one at
    a time and keeps `result.skipped` and `result.rows_read` current; it does not store rows.
    """

    def __init__(
        self,
        source: Source,
        kind: Kind,
        fmt: Format = "auto",
        mapping_overrides: Mapping[str, str] | str | None = None,
        sheet: str | int | None = None,
        limits: WorkbookLimits = UPLOAD_LIMITS,
    ) -> None:
        if kind not in ("orders", "customers"):
            raise ValueError(f"kind must be 'orders' or 'customers', not {kind!r}")
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
        self._stack = ExitStack()
        self._items: Iterator[Item] | None = None
        self.result = ReadResult(kind=kind, format=fmt)
        try:
            self._open(source, kind, fmt, mapping_overrides, sheet, limits)
        except _FileProblem as problem:
            self.result.errors.append(problem.error)
            self._items = None
        except (csv.Error, UnicodeDecodeError) as exc:
            self.result.errors.append(
                make_error(None, None, None, "file_unreadable", detail=str(exc))
            )
            self._items = None
        if self._items is None:
            self.close()

    def _open(
        self,
        source: Source,
        kind: Kind,
        fmt: str,
        overrides: Mapping[str, str] | str | None,
        sheet: str | int | None,
        limits: WorkbookLimits,
    ) -> None:
        result = self.result
        table = _open_table(source, fmt, sheet, self._stack, limits)
        result.container = result.format = table.container
        result.encoding, result.delimiter, result.sheet = (
            table.encoding,
            table.delimiter,
            table.sheet,
        )
        rows = table.rows
        buffered = list(islice(rows, BILL_SCAN_ROWS))
        if not buffered or all(_blank(cells) for _, cells in buffered):
            raise _problem("file_empty")
        layout = bills.detect_bill([cells for _, cells in buffered])
        if fmt in ("wechat", "alipay") and (layout is None or layout.platform != fmt):
            raise _problem("bill_not_recognised", "微信支付" if fmt == "wechat" else "支付宝")
        if layout is not None:
            if kind == "customers":
                raise _problem("bill_not_customers")
            header_number, header_cells = buffered[layout.header_index]
            result.format, result.variant = layout.platform, layout.variant
            result.header_row = header_number
            result.columns = [bills.bill_key(c) for c in header_cells if bills.bill_key(c)]
            data = chain(buffered[layout.header_index + 1 :], rows)
            self._items = self._bill_items(layout, data)
            return
        found = find_header(
            [cells for _, cells in buffered[:HEADER_SCAN_ROWS]], kind, _override_columns(overrides)
        )
        if found is None:
            raise _problem("header_not_found")
        index, span, header = found
        mapping, errors = build_mapping(header, kind, overrides)
        result.header_row = buffered[index][0]
        result.columns = mapping.columns
        result.mapping = mapping.by_column()
        result.unmapped_columns = mapping.unmapped
        result.missing_fields = mapping.missing
        data = chain(buffered[index + span :], rows)
        if errors:
            result.errors.extend(errors)
            # Keep a preview so the owner can see the columns while fixing the mapping.
            result.sample = [_sample(cells) for _, cells in islice(data, SAMPLE_ROWS)]
            self._items = None
            return
        builder = _RowBuilder(kind, mapping, table.epoch_1904, _Keys())
        self._items = self._table_items(builder, data, header)

    def _bill_items(self, layout: bills.BillLayout, data: RawRows) -> Iterator[Item]:
        result = self.result

        def counted() -> RawRows:
            for number, cells in data:
                result.rows_read += 1
                if len(result.sample) < SAMPLE_ROWS and not _blank(cells):
                    result.sample.append(_sample(cells))
                yield number, cells

        yield from bills.parse_bill(layout, counted(), result.skipped, _Keys())

    def _table_items(
        self, builder: _RowBuilder, data: RawRows, header: list[object]
    ) -> Iterator[Item]:
        result = self.result
        skipped = result.skipped
        header_first = str(header[0]).strip() if header and header[0] is not None else None
        header_keys = [normalise_header(c) for c in header]
        for number, cells in data:
            result.rows_read += 1
            if _blank(cells):
                skipped["blank"] = skipped.get("blank", 0) + 1
                continue
            if len(result.sample) < SAMPLE_ROWS:
                result.sample.append(_sample(cells))
            if builder.is_summary(cells):
                skipped["summary"] = skipped.get("summary", 0) + 1
                continue
            first = cells[0] if cells else None
            # Compare the whole row only when its first cell is the header's first cell.
            if (
                isinstance(first, str)
                and first.strip() == header_first
                and [normalise_header(c) for c in cells[: len(header_keys)]] == header_keys
            ):
                skipped["header_repeat"] = skipped.get("header_repeat", 0) + 1
                continue
            built = builder.build(number, cells)
            if isinstance(built, list):
                yield from built
            else:
                yield built

    def __iter__(self) -> Iterator[Item]:
        if self._items is None:
            return
        try:
            yield from self._items
        except _FileProblem as problem:  # a limit met past the first rows
            yield problem.error
        except (csv.Error, UnicodeDecodeError) as exc:
            row = self.result.header_row or 0
            yield make_error(
                row + self.result.rows_read + 1, None, None, "file_unreadable", detail=str(exc)
            )
        finally:
            self.close()

    def close(self) -> None:
        """Release the file (also done when iteration ends)."""
        self._stack.close()

    def __enter__(self) -> FileStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _override_columns(overrides: Mapping[str, str] | str | None) -> list[str]:
    if isinstance(overrides, str):
        try:
            return list(parse_mapping_spec(overrides))
        except ValueError:
            return []
    return list(overrides or {})


def iter_file(
    path_or_bytes: Source,
    kind: Kind,
    fmt: Format = "auto",
    mapping_overrides: Mapping[str, str] | str | None = None,
    sheet: str | int | None = None,
    limits: WorkbookLimits = UPLOAD_LIMITS,
) -> FileStream:
    """Open an import file for streaming: a FileStream whose iteration yields rows and errors."""
    return FileStream(path_or_bytes, kind, fmt, mapping_overrides, sheet, limits)


def read_file(
    path_or_bytes: Source,
    kind: Kind,
    fmt: Format = "auto",
    mapping_overrides: Mapping[str, str] | str | None = None,
    sheet: str | int | None = None,
    limits: WorkbookLimits = UPLOAD_LIMITS,
) -> ReadResult:
    """Read a whole import file: parsed rows, refunds, per-row errors and how the file was read."""
    with iter_file(path_or_bytes, kind, fmt, mapping_overrides, sheet, limits) as stream:
        result = stream.result
        for item in stream:
            if isinstance(item, RowError):
                result.errors.append(item)
            elif isinstance(item, ParsedRefundRow):
                result.refunds.append(item)
            else:
                result.rows.append(item)
    return result
