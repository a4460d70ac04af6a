"""The money of imported orders as bound on SQLite (its text) stores what the Decimals store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from tests.imports.importfiles import ORDER_HEADER, write_csv

from huitouke.imports.engine import Importer
from huitouke.imports.order_rows import _same
from huitouke.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db

# The order book of importfiles, with the cost and discount columns before the amount paid.
HEADER = [*ORDER_HEADER[:-1], "拿货价", "折扣", "实付"]
# Whole, cent and long amounts, a discount, a cost, orders of several lines and rows without an
# order number (one order per visit).
ROWS = [
    ["SO1", "王丽", "13900000001", "2024-03-05 14:03", "面膜", "护肤", 1, "39.90", "12.5", "", ""],
    ["SO1", "王丽", "13900000001", "2024-03-05 14:03", "精华", "护肤", 3, "0.01", "", "", ""],
    ["SO2", "李娜", "13900000002", "2024-03-06 09:00", "口红", "彩妆", 2, "12345.67", "", "5", ""],
    ["SO3", "张敏", "13900000003", "2024-03-07 10:30", "美甲", "美甲", 1, "", "", "", "88"],
    ["", "张敏", "13900000003", "2024-03-08 10:30", "护理", "护理", 2, "199.00", "", "", ""],
    ["", "张敏", "13900000003", "2024-03-08 10:30", "面霜", "护肤", 1, "168.00", "80", "", ""],
    ["", "刘芳", "13900000004", "2024-03-09 18:45", "眉笔", "彩妆", 1, "59.5", "", "0.5", ""],
]
SKIPPED = {"id", "organisation_id", "store_id", "customer_id", "order_id", "product_id"}
SKIPPED |= {"category_id", "created_at", "updated_at"}


def stored(model: Any, organisation_id: int) -> list[tuple[object, ...]]:
    """Every column of the organisation's rows in id order, with its storage class on SQLite."""
    table = model._meta.db_table
    names = [f.column for f in model._meta.concrete_fields if f.column not in SKIPPED]
    if connection.vendor == "sqlite":
        cols = ", ".join(f"t.{n}, typeof(t.{n})" for n in names)
    else:
        cols = ", ".join(f"t.{n}" for n in names)
    if model is Order:
        where = "t.organisation_id = %s"
    else:
        where = "t.order_id IN (SELECT id FROM sales_order WHERE organisation_id = %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {cols} FROM {table} t WHERE {where} ORDER BY t.id", [organisation_id]
        )
        return cursor.fetchall()


def imported(path: Path, store: Any, *, decimals: bool) -> Importer:
    importer = Importer(path, organisation=store.organisation, store=store, kind="orders")
    if decimals:
        # The binding PostgreSQL uses: the Decimals, handed to the driver's adapter.
        importer.money, importer.money_defaults = _same, ()
    summary = importer.run()
    assert (summary.errors, summary.committed) == ([], True)
    return importer


def test_orders_and_lines_store_the_same_values_as_with_decimals(tmp_path, store1, other_store):
    path = write_csv(tmp_path / "orders.csv", HEADER, ROWS)
    imported(path, store1, decimals=True)
    imported(path, other_store, decimals=False)
    for model in (Order, OrderLine):
        by_decimals = stored(model, store1.organisation_id)
        assert by_decimals and stored(model, other_store.organisation_id) == by_decimals
    assert Order.objects.filter(organisation=other_store.organisation).count() == 5
