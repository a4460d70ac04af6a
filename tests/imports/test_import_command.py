"""`huitouke import` and `huitouke export` in-process: exit codes, JSON, --map, --dry-run, --org."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tests.imports.importfiles import ORDER_HEADER, order_rows, write_csv, write_xlsx

from huitouke.accounts.models import Organisation
from huitouke.imports import engine, readers
from huitouke.imports.models import ImportJob
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db


def command(*args: str) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue())


def test_rejected_rows_exit_non_zero_with_the_errors_in_the_summary(tmp_path, org, store1):
    rows = order_rows(4)
    rows[2][3] = "昨天"
    path = str(write_csv(tmp_path / "bad.csv", ORDER_HEADER, rows))
    code, dry = command("import", "orders", path, "--dry-run", "--lang", "en")
    assert code == 1
    assert dry["errors"] == [
        {
            "row": 4,
            "column": "下单日期",
            "value": "昨天",
            "code": "date_invalid",
            "message": "“昨天” is not a date we recognise (write it like 2024-03-05 or 2024/3/5 14:03).",
        }
    ]
    assert dry["dry_run"] and Order.objects.count() == 0 and not ImportJob.objects.exists()
    code, good = command("import", "orders", path, "--mode", "good")
    assert (code, good["created"], good["rejected_rows"]) == (1, 3, 1)
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.error_count) == ("done", 3, 1)
    code, mapped = command(
        "import", "customers", path, "--map", "顾客姓名=name,手机=phone,下单日期=-"
    )
    assert code == 0
    assert (mapped["created"], mapped["skipped"]) == (1, 3)  # 顾客2's order was the bad row


def test_several_organisations_need_org(tmp_path, org, store1, other_org):
    path = str(write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows(2)))
    with pytest.raises(CommandError, match="--org"):
        call_command("import", "orders", path, stdout=io.StringIO())
    code, summary = command("import", "orders", path, "--org", "Rose Beauty", "--store", "国贸店")
    assert (code, summary["created"]) == (0, 2)
    assert set(Order.objects.values_list("store__name", flat=True)) == {"国贸店"}
    assert Organisation.objects.count() == 2


def test_export_refuses_unknown_segments_and_bad_suffixes(tmp_path, org):
    with pytest.raises(CommandError, match="segment"):
        call_command("export", "customers", str(tmp_path / "c.csv"), "--segment", "42")
    with pytest.raises(CommandError, match=r"\.csv or \.xlsx"):
        call_command("export", "customers", str(tmp_path / "c.json"))


def test_the_command_line_reads_workbooks_within_its_own_limits(tmp_path, org, store1, monkeypatch):
    # The command's limits (LOCAL_LIMITS) are what bound its workbook, not an upload's: set to
    # the sheet's size it is imported, one byte less it is refused naming the limit.
    path = write_xlsx(tmp_path / "o.xlsx", ORDER_HEADER, order_rows(40))
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    module = importlib.import_module("huitouke.imports.management.commands.import")
    assert module.LOCAL_LIMITS is readers.LOCAL_LIMITS
    small = readers.WorkbookLimits(part=size - 1, shared=size, total=10 * size, xls_file=size)
    monkeypatch.setattr(module, "LOCAL_LIMITS", small)
    code, refused = command("import", "orders", str(path), "--lang", "en")
    assert code == 1 and [e["code"] for e in refused["errors"]] == ["xlsx_too_large"]
    assert "more than 0 MB" in refused["errors"][0]["message"] and Order.objects.count() == 0
    monkeypatch.setattr(module, "LOCAL_LIMITS", dataclasses.replace(small, part=size))
    code, imported = command("import", "orders", str(path))
    assert (code, imported["created"], imported["errors"]) == (0, 40, [])


def test_the_import_puts_sqlites_page_cache_back(tmp_path, org, store1):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the page cache is SQLite's")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
    path = str(write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows(3)))
    code, summary = command("import", "orders", path)
    assert (code, summary["created"]) == (0, 3)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == before != -engine.IMPORT_CACHE_KIB
