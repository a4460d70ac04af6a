"""Upload limits, checked before any work: generated bombs are refused with little memory and time.

Each test prints the reader's peak Python memory (tracemalloc) so a regression is visible.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import Workbook
from tests.imports.test_import_views import csv_bytes, upload

from huitouke.imports import readers
from huitouke.imports.models import ImportJob
from huitouke.imports.readers import read_file

HEADER = ["顾客姓名", "手机", "日期", "金额"]
ROW = ["王丽", "13800000001", "2024-03-05", "88"]


def measured(read: Callable[[], Any], label: str) -> tuple[Any, float, float]:
    """The result of `read`, its peak traced memory in MB and its time in seconds (printed)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started
    print(f"{label}: peak {peak / 2**20:.1f} MB, {seconds:.2f} s")
    return result, peak / 2**20, seconds


SHARED_STRINGS_REL = (
    b'<Relationship Id="rIdBomb" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org'
    b'/officeDocument/2006/relationships/sharedStrings"/></Relationships>'
)
SHARED_STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)


def xlsx_with_shared_string(chars: int) -> bytes:
    """A real workbook with a shared-strings part holding one string of `chars` characters."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(ROW)
    plain = io.BytesIO()
    workbook.save(plain)  # openpyxl writes inline strings: the shared strings part is added
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", SHARED_STRINGS_REL)
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", SHARED_STRINGS_TYPE)
            target.writestr(info, data)
        with target.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            part.write(b"<si><t>")
            block = b"A" * (1 << 20)
            for _ in range(chars >> 20):
                part.write(block)
            part.write(b"</t></si></sst>")
    return bomb.getvalue()


def codes(result: Any) -> list[str]:
    return [e.code for e in result.errors]


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked():
    content = xlsx_with_shared_string(100 << 20)  # 100 MB of one string, packed into ~100 KB
    assert len(content) < 1 << 20
    result, peak, seconds = measured(lambda: read_file(content, "orders"), "xlsx bomb")
    assert codes(result) == ["xlsx_too_large"]
    assert peak < 20 and seconds < 5


def test_an_ordinary_xlsx_is_read():
    workbook = Workbook()
    workbook.active.append(HEADER)
    for _ in range(200):
        workbook.active.append(ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result, _, _ = measured(lambda: read_file(buffer.getvalue(), "orders"), "xlsx 200 rows")
    assert result.errors == [] and len(result.rows) == 200


def test_a_million_column_csv_header_is_refused_quickly():
    content = ",".join(f"c{i}" for i in range(1_000_000)).encode() + b"\n1,2,3\n"
    result, peak, seconds = measured(lambda: read_file(content, "orders"), "1M-column CSV")
    assert codes(result) == ["too_many_columns"]
    assert "500" in result.errors[0].message_en
    assert seconds < 10 and peak < 300


def test_a_cell_longer_than_excel_allows_is_refused_and_the_error_is_clipped():
    long = "长" * 40_000
    content = csv_bytes([HEADER, ROW, ["王丽", "13800000001", "2024-03-05", long]])
    result, _, _ = measured(lambda: read_file(content, "orders"), "40,000-character cell")
    assert codes(result) == ["cell_too_long"]
    error = result.errors[0]
    assert error.value is not None and len(error.value) <= 200
    assert "Row 3, column 4" in error.message_en


def test_rows_past_the_limit_stop_the_file(monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROWS", 20)
    content = csv_bytes([HEADER] + [ROW] * 30)
    result = read_file(content, "orders")
    assert "too_many_rows" in codes(result)


@pytest.mark.django_db
def test_the_job_page_stores_and_shows_a_bounded_summary(
    owner_client, huey_immediate, django_capture_on_commit_callbacks, store1
):
    # 20,000 characters: within the cell limit, but far past the name's 100: a row error.
    long = "<b>" + "名" * 20_000
    rows = [HEADER] + [[long, f"138000000{i:02d}", "2024-03-05", "88"] for i in range(60)]
    with django_capture_on_commit_callbacks(execute=True):
        upload(owner_client, "long.csv", csv_bytes(rows))
    job = ImportJob.objects.get()
    assert job.error_count == 60
    assert all(len(e["value"] or "") <= 200 for e in job.errors)
    assert all(len(cell) <= 100 for row in job.summary["sample"] for cell in row)
    page = owner_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    print(f"job page: {len(page)} characters")
    assert len(page) < 100_000
    assert "<b>名" not in page  # escaped as well as clipped


# --- how far a workbook may unpack: uploads (issue 14) and the command line's own files --------


def workbook_bytes(rows: int) -> bytes:
    """An .xlsx of `rows` orders under HEADER, as openpyxl writes it (text inline in the sheet)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("订单")
    sheet.append(HEADER)
    for i in range(rows):
        sheet.append(["王丽", f"139{i:08d}", "2024-03-05 10:00", 88])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_size(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.getinfo("xl/worksheets/sheet1.xml").file_size


def limits(part: int) -> readers.WorkbookLimits:
    return readers.WorkbookLimits(part=part, shared=part, total=4 * part, xls_file=part)


def test_a_sheet_just_over_the_part_limit_is_refused_naming_it_and_one_at_it_is_read():
    content = workbook_bytes(8000)  # about 1.4 MB of sheet XML
    size = sheet_size(content)
    assert size > readers.MB  # the message names whole MB
    at_limit = read_file(content, "orders", limits=limits(size))
    assert at_limit.errors == [] and len(at_limit.rows) == 8000
    over = read_file(content, "orders", limits=limits(size - 1))
    assert codes(over) == ["xlsx_too_large"] and over.rows == []
    assert f"more than {(size - 1) // readers.MB} MB" in over.errors[0].message_en


def test_the_total_limit_is_named_when_the_parts_together_pass_it():
    content = workbook_bytes(8000)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    big = 4 * unpacked
    at_limit = readers.WorkbookLimits(part=big, shared=big, total=unpacked, xls_file=big)
    assert read_file(content, "orders", limits=at_limit).errors == []
    result = read_file(content, "orders", limits=replace(at_limit, total=unpacked - 1))
    assert codes(result) == ["xlsx_too_large"]
    assert f"more than {(unpacked - 1) // readers.MB} MB" in result.errors[0].message_en


def test_uploads_keep_issue_14s_limits_and_the_command_line_takes_a_sheet_as_long_as_excel_allows():
    web, local = readers.UPLOAD_LIMITS, readers.LOCAL_LIMITS
    mb = readers.MB
    assert (web.part, web.shared, web.total, web.xls_file) == (
        256 * mb,
        64 * mb,
        512 * mb,
        256 * mb,
    )
    assert read_file(workbook_bytes(10), "orders").errors == []  # the default is the web's
    # An 8-column order export (bench/imports.py's columns, text inline as openpyxl writes it)
    # at Excel's 1,048,576 rows: past an upload's sheet limit, within the command line's.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("订单")
    sheet.append(["顾客姓名", "手机", "下单日期", "产品名称", "数量", "售价", "品类", "订单号"])
    for i in range(20_000):
        sheet.append(
            [
                "王丽娜",
                f"139{i:08d}",
                "2024-03-05 10:00",
                "玻尿酸面膜",
                2,
                88.0,
                "护肤",
                f"SO{i:09d}",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    per_row = sheet_size(buffer.getvalue()) / 20_000
    excel_sheet = per_row * readers.MAX_ROWS
    assert web.part < excel_sheet < local.part
    assert excel_sheet * 2 < local.total and local.ratio == web.ratio
