"""`huitouke backup` while 20 writers keep recording orders, then `huitouke restore` elsewhere.

The snapshot is taken mid-run (after some orders, before the last ones), restored into a fresh
data dir (SQLite) or a new empty database (PostgreSQL), and the restored books are checked: the
counts equal the manifest's, every restored order and ledger row is the source's own, and each
account's balance equals its ledger — which a torn copy of a live database would not satisfy.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from huitouke.customers.models import Customer
from huitouke.loyalty.models import PointsEntry
from huitouke.ops.backup import create_backup
from huitouke.ops.models import BackupRecord
from huitouke.ops.pgtools import connect_kwargs
from huitouke.ops.restore import read_backup
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Order
from tests.helpers import make_customer

WRITERS = 20


def _restore(path: Path, target: dict[str, Any]) -> None:
    if "url" in target:
        call_command(
            "restore", str(path), data_dir=str(target["data_dir"]), database_url=target["url"]
        )
    else:
        call_command("restore", str(path), data_dir=str(target["data_dir"]))


def _query(target: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    if "settings" in target:
        import psycopg

        with psycopg.connect(**connect_kwargs(target["settings"])) as conn:
            return list(conn.execute(sql).fetchall())
    conn = sqlite3.connect(str(target["data_dir"] / "huitouke.sqlite3"))
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_backup_during_20_writers_restores_the_snapshot(org, store1, restore_target, tmp_path):
    customers = [make_customer(org) for _ in range(WRITERS)]
    backup_done = threading.Event()
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS + 1)

    def write(i: int) -> None:
        try:
            barrier.wait()
            n = 0
            # Each writer goes on until the backup is finished and then writes one more order, so
            # the snapshot is strictly between the first and the last order.
            while n < 3 or not backup_done.is_set():
                do_record_order(
                    organisation=org,
                    store=store1,
                    customer=Customer.objects.get(pk=customers[i].pk),
                    actor=None,
                    lines=[
                        LineInput(
                            quantity=1,
                            name=f"w{i}-{n}",
                            unit_price=Decimal(f"{i + 1}.{n % 100:02d}"),
                        )
                    ],
                )
                n += 1
            do_record_order(
                organisation=org,
                store=store1,
                customer=Customer.objects.get(pk=customers[i].pk),
                actor=None,
                lines=[LineInput(quantity=1, name=f"w{i}-last", unit_price=Decimal("9.99"))],
            )
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)
            backup_done.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    barrier.wait()
    try:
        while Order.objects.count() < WRITERS and not errors:
            threading.Event().wait(0.02)
        path = create_backup(tmp_path / "backups")
    finally:
        backup_done.set()
        for t in threads:
            t.join()
    assert errors == []

    with_manifest = read_backup(path, tmp_path)
    snap_orders = with_manifest["tables"]["sales_order"]
    assert WRITERS <= snap_orders < Order.objects.count()

    _restore(path, restore_target)

    restored = dict(_query(restore_target, "SELECT id, ROUND(net_paid * 100) FROM sales_order"))
    assert len(restored) == snap_orders
    source = dict(Order.objects.values_list("id", "net_paid"))
    assert {k: int(v) for k, v in restored.items()} == {
        k: int(source[k] * 100) for k in restored
    }, "every restored order is the source's own"
    entries = _query(restore_target, "SELECT id, customer_id, points FROM loyalty_pointsentry")
    source_entries = dict(PointsEntry.objects.values_list("id", "points"))
    assert entries and all(source_entries[i] == p for i, _c, p in entries)
    assert sum(p for _i, _c, p in entries) == with_manifest["sums"]["loyalty_pointsentry.points"]
    # The ledger balances in the snapshot: each account's balance is the sum of its entries.
    balances = dict(
        _query(restore_target, "SELECT customer_id, balance FROM loyalty_loyaltyaccount")
    )
    ledger: dict[int, int] = {}
    for _i, customer_id, points in entries:
        ledger[customer_id] = ledger.get(customer_id, 0) + points
    assert ledger == {c: b for c, b in balances.items() if b or c in ledger}
    counts = dict(
        _query(
            restore_target,
            "SELECT s.customer_id, s.orders_count FROM customers_customerstats s",
        )
    )
    per_customer: dict[int, int] = {}
    for (customer_id,) in _query(restore_target, "SELECT customer_id FROM sales_order"):
        per_customer[customer_id] = per_customer.get(customer_id, 0) + 1
    assert {c: n for c, n in counts.items() if n} == per_customer
    # The keys that decrypt stored secrets come back with the data.
    assert (restore_target["data_dir"] / "field_key").read_text() == (
        settings.DATA_DIR / "field_key"
    ).read_text()


def test_backup_command_records_the_backup(db, tmp_path, capsys):
    call_command("backup", str(tmp_path))
    record = BackupRecord.objects.get()
    assert Path(record.file_name).parent == tmp_path
    assert Path(record.file_name).stat().st_size == record.size > 0
    assert f'"vendor": "{connection.vendor}"' in capsys.readouterr().out
