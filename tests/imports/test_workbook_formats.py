"""Workbooks read by calamine: the same cells as openpyxl gave, and .xls / .ods read alike.

The reference for an .xlsx is openpyxl's read-only reader (the reader used before calamine),
run here on the same bytes: every row, every cell, value and type. An .xls written by xlwt and
an .ods written by odfpy hold the same table and must give the same parsed rows.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from huitouke.imports.readers import _open_table, read_file
from huitouke.imports.rows import ParsedOrderRow

HEADER = ["订单号", "姓名", "手机", "下单时间", "商品", "数量", "单价", "备注"]
ROWS: list[list[Any]] = [
    ["A-1", "王丽", 13800138000, datetime(2024, 3, 5, 14, 3), "面霜", 2, 45.5, None],
    [10023, "陈静", "13900139000", date(2024, 3, 6), "口红", 1, 199.9, "生日"],
    [None] * 8,  # a blank row inside the data
    ["A-3", " 赵敏 ", "13700137000", "2024/3/7 10:00", "唇釉", 3, 88, 12.25],
    ["A-4", "李娜", "13600136000", 45358.5, "精华", 1, -3, True],  # a serial; a negative price
    [4.2000012345678904e18, "周", "13500135000", "2024-03-09", "眼霜", 1, 10, None],
    ["A-6", "吴", "13400134000", datetime(2024, 3, 10, 9, 30, 15), "面膜", 10, 0.1, "=1+2"],
]


def xlsx_bytes(rows: list[list[Any]], *, offset: bool = False, epoch_1904: bool = False) -> bytes:
    workbook = Workbook()
    if epoch_1904:
        workbook.epoch = datetime(1904, 1, 1)  # type: ignore[assignment]
    sheet = workbook.active
    sheet.title = "订单"
    workbook.create_sheet("空")
    top = 3 if offset else 1
    left = 2 if offset else 1
    for r, row in enumerate([HEADER, *rows]):
        for c, value in enumerate(row):
            if value is not None:
                sheet.cell(row=top + r, column=left + c, value=value)
    sheet.cell(row=top + 1, column=left + 3).number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def openpyxl_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # type: ignore[union-attr]
    rows = []
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        values = list(cells)
        while values and values[-1] is None:
            values.pop()
        rows.append((number, values))
    workbook.close()
    return rows


def calamine_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        table = _open_table(data, "auto", None, stack)
        assert table.container == "xlsx"
        return list(table.rows)


def typed(rows: list[tuple[int, list[Any]]]) -> list[tuple[int, list[tuple[type, Any]]]]:
    return [(n, [(type(v), v) for v in cells]) for n, cells in rows]


@pytest.mark.parametrize("offset", [False, True], ids=["A1", "B3"])
def test_calamine_gives_openpyxls_cells_value_by_value(offset: bool) -> None:
    data = xlsx_bytes(ROWS, offset=offset)
    reference = openpyxl_rows(data)
    ours = calamine_rows(data)
    # Trailing empty rows: openpyxl may stop earlier; every row it has must be ours exactly.
    assert typed(ours[: len(reference)]) == typed(reference)
    assert all(cells == [] for _, cells in ours[len(reference) :])
    assert ours[2 if offset else 0][1][-1] == "备注"


def test_parsed_rows_and_error_rows_match_excels_row_numbers() -> None:
    result = read_file(xlsx_bytes(ROWS, offset=True), "orders")
    assert result.header_row == 3
    rows = [r for r in result.rows if isinstance(r, ParsedOrderRow)]
    assert [(r.row, r.external_id, r.phone) for r in rows] == [
        (4, "A-1", "13800138000"),
        (5, "10023", "13900139000"),
        (7, "A-3", "13700137000"),
        (10, "A-6", "13400134000"),
    ]
    assert rows[0].placed_at == datetime(2024, 3, 5, 14, 3)
    assert rows[1].placed_at == datetime(2024, 3, 6)
    assert rows[3].placed_at == datetime(2024, 3, 10, 9, 30, 15)
    assert (rows[0].unit_price, rows[0].amount) == (Decimal("45.50"), Decimal("91.00"))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (8, "单价", "amount_negative"),
        (9, "订单号", "excel_scientific"),
    ]


def test_1904_workbook_serials_are_dated_from_1904() -> None:
    data = xlsx_bytes([["A-1", "王丽", "13800138000", 43894, "面霜", 1, 10, None]], epoch_1904=True)
    (row,) = read_file(data, "orders").rows
    assert isinstance(row, ParsedOrderRow) and row.placed_at == datetime(2024, 3, 5)
    plain = xlsx_bytes([["A-1", "王丽", "13800138000", 43894, "面霜", 1, 10, None]])
    (row,) = read_file(plain, "orders").rows
    assert isinstance(row, ParsedOrderRow) and row.placed_at == datetime(2020, 3, 4)


SIMPLE: list[list[Any]] = [
    ["A-1", "王丽", "13800138000", "2024-03-05 14:03", "面霜", 2, 45.5, "老客"],
    ["A-2", "陈静", 13900139000, "2024-03-06", "口红", 1, 199.9, None],
    ["A-3", "赵敏", "13700137000", "2024/3/7", "唇釉", 1.5, 88, None],  # bad quantity
]


def xls_bytes(rows: list[list[Any]]) -> bytes:
    import xlwt  # type: ignore[import-untyped]

    book = xlwt.Workbook()
    sheet = book.add_sheet("订单")
    sheet.write(0, 0, "三月订单")  # a title row above the header
    for r, row in enumerate([HEADER, *rows], start=1):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods_bytes(rows: list[list[Any]]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet  # type: ignore[import-untyped]
    from odf.table import Table, TableCell, TableRow  # type: ignore[import-untyped]
    from odf.text import P  # type: ignore[import-untyped]

    doc = OpenDocumentSpreadsheet()
    table = Table(name="订单")
    for row in [["三月订单"], HEADER, *rows]:
        tr = TableRow()
        for value in row:
            if value is None:
                tr.addElement(TableCell())
            elif isinstance(value, str):
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
                tr.addElement(cell)
            else:
                tr.addElement(TableCell(valuetype="float", value=value))
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx_with_title(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "订单"
    sheet.append(["三月订单"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def summary(data: bytes) -> tuple[Any, ...]:
    result = read_file(data, "orders")
    return (
        result.format,
        result.sheet,
        result.header_row,
        [
            (r.row, r.external_id, r.customer_name, r.phone, r.placed_at, r.quantity, r.amount)
            for r in result.rows
            if isinstance(r, ParsedOrderRow)
        ],
        [(e.row, e.column, e.code) for e in result.errors],
    )


@pytest.mark.parametrize("writer", [xls_bytes, ods_bytes], ids=["xls", "ods"])
def test_old_excel_and_opendocument_read_as_the_xlsx(writer: Any) -> None:
    expected = summary(xlsx_with_title(SIMPLE))
    assert expected[3][0][4] == datetime(2024, 3, 5, 14, 3)
    assert expected[4] == [(5, "数量", "quantity_invalid")]
    assert summary(writer(SIMPLE)) == expected


def test_workbook_errors_are_file_problems() -> None:
    data = xlsx_with_title(SIMPLE)
    assert [e.code for e in read_file(data, "orders", sheet="4月").errors] == ["sheet_not_found"]
    assert [e.code for e in read_file(data, "orders", sheet=5).errors] == ["sheet_not_found"]
    assert [e.code for e in read_file(data, "orders", fmt="csv").errors] == ["file_unreadable"]
    assert [e.code for e in read_file(xls_bytes(SIMPLE), "orders", fmt="csv").errors] == [
        "file_unreadable"
    ]
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<not a workbook")
    assert [e.code for e in read_file(broken.getvalue(), "orders").errors] == ["file_unreadable"]


def test_time_only_and_bool_cells_keep_their_types() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["a", "b", "c"])
    sheet.append([time(14, 3), True, date(2024, 1, 2)])
    out = io.BytesIO()
    workbook.save(out)
    data = out.getvalue()
    assert typed(calamine_rows(data)) == typed(openpyxl_rows(data))
