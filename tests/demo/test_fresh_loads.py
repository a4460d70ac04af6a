"""Loads into an empty database: determinism, refusal, progress and the `demo` command."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from tests.helpers import make_customer, make_order

from huitouke.accounts.models import Organisation, Store, User
from huitouke.customers.models import Customer, CustomerStats, Interaction
from huitouke.demo.generator import DEMO_PASSWORD, generate_demo
from huitouke.sales.models import Order, OrderLine, Product, Refund

AS_OF = date(2025, 6, 30)


def snapshot() -> dict[str, Any]:
    """Everything the generator decided, without database ids."""
    ext = dict(Customer.objects.values_list("pk", "external_id"))
    return {
        "customers": sorted(
            (
                c.external_id,
                c.name,
                c.phone,
                c.gender,
                c.city,
                c.birth_month,
                c.birth_day,
                str(c.custom),
                ext.get(c.referrer_id),
                c.owner.username if c.owner else "",
                tuple(sorted(t.name for t in c.tags.all())),
            )
            for c in Customer.objects.select_related("owner").prefetch_related("tags")
        ),
        "orders": sorted(
            (
                ext[o.customer_id],
                o.placed_at,
                o.net_paid,
                o.status,
                o.refunded_amount,
                tuple((ln.product.sku, ln.quantity) for ln in o.lines.all()),
            )
            for o in Order.objects.prefetch_related("lines__product")
        ),
        "interactions": sorted(
            (ext[i.customer_id], i.kind, i.occurred_at, i.note) for i in Interaction.objects.all()
        ),
    }


def wipe() -> None:
    # Orders, lines and refunds protect what they point to, so they go first.
    Refund.objects.all().delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    User.objects.all().delete()
    Organisation.objects.all().delete()


def test_the_same_seed_gives_the_same_data(db: Any) -> None:
    generate_demo(customers=25, seed=3, as_of=AS_OF)
    first = snapshot()
    wipe()
    generate_demo(customers=25, seed=3, as_of=AS_OF)
    assert snapshot() == first
    wipe()
    generate_demo(customers=25, seed=4, as_of=AS_OF)
    assert snapshot()["orders"] != first["orders"]


def test_refuses_a_database_that_has_data(org: Organisation) -> None:
    with pytest.raises(ValueError, match="empty database"):
        generate_demo(customers=10)
    assert not Customer.objects.exists()


def test_reports_progress_up_to_the_total(db: Any) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_demo(
        customers=30,
        seed=1,
        as_of=AS_OF,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert ("customers", 30, 30) in seen and seen[-1] == ("stats", 1, 1)


def test_demo_command_loads_once_and_reuses_the_data(db: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--customers", "40", stdout=out)
    text = out.getvalue()
    assert Customer.objects.count() == 40
    orders = Order.objects.count()
    assert orders > 40
    for word in ("boss", "manager1", "staff3", DEMO_PASSWORD, "老板", "owner"):
        assert word in text

    again = io.StringIO()
    call_command("demo", "--no-serve", "--customers", "80", stdout=again)
    assert Customer.objects.count() == 40 and Order.objects.count() == orders
    assert Organisation.objects.count() == 1
    assert "reusing" in again.getvalue() and "boss" in again.getvalue()


def test_demo_command_rejects_a_bad_size(db: Any) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("demo", "--no-serve", "--customers", "0")


def test_rows_written_after_the_demo_get_fresh_ids(db: Any) -> None:
    # The generator picks ids itself; the database's sequences must have moved past them.
    generate_demo(customers=20, seed=5, as_of=AS_OF)
    top_customer = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    top_order = Order.objects.order_by("-pk").values_list("pk", flat=True)[0]
    store = Store.objects.order_by("pk")[0]
    customer = make_customer(store.organisation, name="新客人", phone="13900000001")
    order = make_order(customer, store, product=Product.objects.order_by("pk")[0])
    assert customer.pk > top_customer and order.pk > top_order
    stats = CustomerStats.objects.get(customer=customer)
    assert stats.orders_count == 1 and stats.net_spend == Decimal("198.00")


def test_demo_command_refuses_to_reset_postgresql(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite --reset deletes the database file: see the subprocess test below")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("demo", "--no-serve", "--reset", "--customers", "5")


def test_make_demo_path_resets_and_loads_in_a_fresh_process(tmp_path: Path) -> None:
    """`huitouke demo --reset --no-serve` in its own process, on its own embedded database."""
    (tmp_path / "huitouke.sqlite3").write_bytes(b"this is not a database")
    (tmp_path / "huitouke.sqlite3-wal").write_bytes(b"nor this")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["HUITOUKE_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "huitouke", "demo", "--no-serve", "--reset", "--customers", "12"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Deleted" in done.stdout and "boss" in done.stdout
    with closing(sqlite3.connect(tmp_path / "huitouke.sqlite3")) as db:
        assert db.execute("select count(*) from customers_customer").fetchone() == (12,)
        assert db.execute("select count(*) from accounts_user").fetchone() == (6,)
    with closing(sqlite3.connect(tmp_path / "huey.sqlite3")) as queue:
        assert queue.execute("select count(*) from task").fetchone() == (0,)
