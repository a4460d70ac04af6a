"""Files handed back to the owner: the per-row error report and the bad rows, ready to fix.

Both are written as CSV (UTF-8 with BOM, so Excel on Windows opens Chinese text correctly) or
XLSX. The bad-rows file keeps the original cells of every rejected row under the file's own
header (plus an error column the importer ignores), so once fixed it re-imports as it is.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from django.utils import translation
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from huitouke.imports.mapping import build_mapping
from huitouke.imports.parsing import CellValue, clean_text
from huitouke.imports.readers import UPLOAD_LIMITS, WorkbookLimits, _open_table, iter_file
from huitouke.imports.rows import Kind, RowError, django_language, make_error

# Matches no field synonym (checked in the tests), so a fixed file re-imports without it.
ERROR_COLUMN = "错误 error"

Sink = str | os.PathLike[str] | IO[bytes]


class RawRows:
    """The raw cells of a file's rows by row number, read forward (for rejected rows)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: str = "auto",
        sheet: Any = None,
        limits: WorkbookLimits = UPLOAD_LIMITS,
    ):
        self._path, self._fmt, self._sheet = path, fmt if fmt in ("csv", "xlsx") else "auto", sheet
        self._limits = limits
        self._stack = ExitStack()
        self._rows: Iterator[tuple[int, list[CellValue]]] = iter(())
        self._at = 0
        self._open()

    def _open(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        table = _open_table(self._path, self._fmt, self._sheet, self._stack, self._limits)
        self._rows, self._at = table.rows, 0

    def get(self, number: int) -> list[CellValue] | None:
        """The cells of row `number` (1-based, as Excel numbers it); None past the end."""
        if number <= self._at:
            self._open()  # asked for an earlier row: start again (rare)
        for at, cells in self._rows:
            self._at = at
            if at == number:
                return cells
            if at > number:
                return None
        return None

    def close(self) -> None:
        """Release the file."""
        self._stack.close()

    def __enter__(self) -> RawRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# OWASP "CSV injection": a spreadsheet reads a cell starting with one of these as a formula
# (=HYPERLINK(...) leaks data, DDE runs commands), so such text is written with a leading "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REPLACEMENT = "\ufffd"


def neutralise(text: str) -> str:
    """`text` as a spreadsheet shows it literally: a leading ' where it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _xlsx_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal | date | time):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)  # openpyxl cannot store aware datetimes
        return value
    text = value if isinstance(value, str) else str(value)
    # XML 1.0 cannot carry most control characters: openpyxl refuses the whole cell.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return _text(value)  # numbers and dates: never a formula


def _safe(convert: Callable[[Any], Any], row: Sequence[Any]) -> list[Any]:
    # One value that cannot be written becomes a replacement character, never a failed export.
    cells = []
    for value in row:
        try:
            cells.append(convert(value))
        except Exception:  # any value's own failure, whatever its type
            cells.append(REPLACEMENT)
    return cells


def write_table(
    sink: Sink, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = ""
) -> int:
    """Write a header and rows as CSV (UTF-8 with BOM) or XLSX; returns the number of rows.

    The one writer of every file handed out (exports, error reports, bad rows): text that a
    spreadsheet would run as a formula is neutralised and illegal XML characters replaced.
    """
    count = 0
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title[:31] or "Sheet1")
        sheet.append(_safe(_xlsx_cell, header))
        for row in rows:
            sheet.append(_safe(_xlsx_cell, row))
            count += 1
        workbook.save(sink)  # type: ignore[arg-type]
        return count
    if fmt != "csv":
        raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
    own = isinstance(sink, str | os.PathLike)
    binary: IO[bytes] = open(sink, "wb") if isinstance(sink, str | os.PathLike) else sink  # noqa: SIM115
    try:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(_safe(_csv_cell, header))
        for row in rows:
            writer.writerow(_safe(_csv_cell, row))
            count += 1
        text.flush()
        text.detach()  # the caller may own the stream
    finally:
        if own:
            binary.close()
    return count


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value) if not isinstance(value, str) else value


def error_dicts(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    """Errors as stored on a job: row, column, value, code and params (messages render later)."""
    return [
        {
            "row": e.row,
            "column": e.column,
            "value": e.value,
            "code": e.code,
            "params": {k: v for k, v in e.params.items() if isinstance(v, str | int | list)},
        }
        for e in errors
    ]


def errors_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[RowError]:
    """Stored errors back as RowError objects (their messages rendered in any language)."""

    return [
        make_error(i.get("row"), i.get("column"), i.get("value"), i["code"], **i.get("params", {}))
        for i in items
    ]


REPORT_HEADERS = [
    pgettext_lazy("import report", "row"),
    pgettext_lazy("import report", "column"),
    pgettext_lazy("import report", "value"),
    pgettext_lazy("import report", "message"),
]


def report_headers(lang: str) -> list[str]:
    with translation.override(django_language(lang)):
        return [str(h) for h in REPORT_HEADERS]


def write_error_report(sink: Sink, fmt: str, errors: Sequence[RowError], lang: str = "zh") -> int:
    """One line per problem: row number, column, value and the message in `lang`."""
    rows = ([e.row or "", e.column or "", e.value or "", e.message(lang)] for e in errors)
    return write_table(sink, fmt, report_headers(lang), rows, "errors")


def write_bad_rows(
    sink: Sink,
    path: str | os.PathLike[str],
    *,
    kind: Kind,
    errors: Sequence[RowError],
    fmt: str = "auto",
    mapping: Mapping[str, str] | None = None,
    sheet: Any = None,
    lang: str = "zh",
    out_fmt: str | None = None,
) -> int:
    """The rejected rows of `path` under its header, with an error column: fix and re-import."""
    with iter_file(path, kind, fmt, mapping, sheet) as stream:  # type: ignore[arg-type]
        result = stream.result
    container = out_fmt or result.container or "csv"
    by_row: dict[int, list[str]] = {}
    for error in errors:
        if error.row is not None:
            by_row.setdefault(error.row, []).append(error.message(lang))
    keep: list[int] | None = None
    with RawRows(path, fmt, sheet) as raw:
        if result.format in ("wechat", "alipay"):
            header = [clean_text(c) for c in (raw.get(result.header_row or 1) or [])]
        else:
            header, keep = _table_header(result.columns, result.mapping, kind)
        width = len(header)

        def rows() -> Iterator[list[Any]]:
            for number in sorted(by_row):
                cells = list(raw.get(number) or [])
                cells += [None] * (width - len(cells))
                cells = [cells[i] for i in keep] if keep is not None else cells[:width]
                yield [*cells, "; ".join(by_row[number])]

        return write_table(sink, container, [*header, ERROR_COLUMN], rows(), "rows")


def _table_header(
    columns: list[str], used: Mapping[str, str], kind: Kind
) -> tuple[list[str], list[int]]:
    # A column the owner re-mapped gets the field's own name, which the importer maps back on
    # its own; a column she chose to ignore is left out. Everything else keeps its header.
    auto, _errors = build_mapping(columns, kind)
    automatic = auto.by_column()
    header: list[str] = []
    keep: list[int] = []
    for index, column in enumerate(columns):
        field = used.get(column)
        if field is None and column in automatic:
            continue  # auto-mapped, but ignored by the owner
        header.append(column if automatic.get(column) == field else (field or column))
        keep.append(index)
    return header, keep
