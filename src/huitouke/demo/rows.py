"""Writing the simulated plans: plain rows INSERTed with `executemany`, chunk by chunk."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from huitouke.accounts.models import Organisation
from huitouke.customers.models import Customer, FamilyMember, Interaction
from huitouke.customers.pinyin import name_keys
from huitouke.demo.simulation import CustomerPlan, OrderPlan, World
from huitouke.sales.models import Order, OrderLine, OrderStatus, Refund

_PAID, _REFUNDED = OrderStatus.PAID.value, OrderStatus.REFUNDED.value


class Table:
    """Rows of one model INSERTed with `executemany` and ids chosen here.

    Building model instances and compiling `bulk_create` SQL cost several times the inserts
    themselves (minutes at a million orders). Rows here are plain tuples prepared with the
    backend's own adapters (datetimes, JSON), so SQLite and PostgreSQL store what the ORM would.
    """

    def __init__(self, model: type[models.Model], now: datetime) -> None:
        ops = connection.ops
        self.model = model
        self.columns: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default: Any = now
            else:
                default = None if f.primary_key else f.get_default()
            convert: Callable[[Any], Any] | None = None
            if isinstance(f, models.DateTimeField):
                convert = ops.adapt_datetimefield_value
            elif isinstance(f, models.JSONField):
                convert = functools.partial(f.get_db_prep_save, connection=connection)
            self.columns.append((f.attname, default, convert))
        self.pk_name = model._meta.pk.attname
        names_sql = ", ".join(ops.quote_name(str(f.column)) for f in model._meta.concrete_fields)
        marks = ", ".join(["%s"] * len(self.columns))
        self.sql = (
            f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({names_sql}) VALUES ({marks})"
        )
        # The database is fresh, so ids simply continue after whatever exists.
        self.next_id = (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1
        self.pending: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> int:
        """Queue one row (attribute names as keys) and return the id it will have."""
        pk = self.next_id
        self.next_id += 1
        row[self.pk_name] = pk
        self.pending.append(
            tuple(
                [
                    row.get(name, default) if convert is None else convert(row.get(name, default))
                    for name, default, convert in self.columns
                ]
            )
        )
        return pk

    def flush(self) -> None:
        if self.pending:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, self.pending)
            self.count += len(self.pending)
            self.pending.clear()


class Writer:
    """Turns customer plans into rows, chunk by chunk."""

    def __init__(self, world: World, organisation: Organisation, now: datetime) -> None:
        self.world = world
        self.org_id = organisation.pk
        self.customer_ids: list[int] = []
        self.potential = 0
        through = Customer.tags.through
        self.customers = Table(Customer, now)
        self.tags = Table(through, now)
        self.family = Table(FamilyMember, now)
        self.orders = Table(Order, now)
        self.lines = Table(OrderLine, now)
        self.refunds = Table(Refund, now)
        self.interactions = Table(Interaction, now)
        # Foreign keys are checked at commit on both databases, but parents go first anyway.
        self.tables = (
            self.customers,
            self.tags,
            self.family,
            self.orders,
            self.lines,
            self.refunds,
            self.interactions,
        )

    def write(self, plans: list[CustomerPlan]) -> None:
        world, org_id = self.world, self.org_id
        for plan in plans:
            row = dict(plan.fields)
            ref = row.pop("referrer_index", None)
            if ref is not None:
                row["referrer_id"] = self.customer_ids[ref]
            row["organisation_id"] = org_id
            row["name_pinyin"], row["name_initials"] = name_keys(row.get("name"))
            cid = self.customers.add(row)
            self.customer_ids.append(cid)
            self.potential += not plan.orders
            for name in sorted(plan.tags):
                self.tags.add({"customer_id": cid, "tag_id": world.tags[name].pk})
            for member in plan.family:
                self.family.add({"customer_id": cid, **member})
            for o in plan.orders:
                self.order(cid, o)
            for kind, at, note, rating, staff in plan.interactions:
                self.interactions.add(
                    {
                        "organisation_id": org_id,
                        "customer_id": cid,
                        "staff_id": staff,
                        "kind": kind,
                        "occurred_at": at,
                        "note": note,
                        "rating": rating,
                        "created_at": at,
                    }
                )
        for table in self.tables:
            table.flush()

    def order(self, customer_id: int, o: OrderPlan) -> None:
        world = self.world
        full = o.refund == "full"
        order_id = self.orders.add(
            {
                "organisation_id": self.org_id,
                "store_id": world.stores[o.store].pk,
                "customer_id": customer_id,
                "staff_id": o.staff_id,
                "placed_at": o.placed_at,
                "status": _REFUNDED if full else _PAID,
                "gross_amount": o.gross,
                "discount_amount": o.discount,
                "net_paid": o.gross - o.discount,
                "cost_amount": o.cost,
                "refunded_amount": o.refund_amount,
                "refunded_cost": o.refund_cost,
                "source": o.source,
                "created_at": o.placed_at,
                "created_by_id": o.staff_id,
            }
        )
        records = []
        for index, (p, qty) in enumerate(o.lines):
            product = world.products[p]
            refunded = qty if full else (1 if o.refund_line == index else 0)
            line_id = self.lines.add(
                {
                    "order_id": order_id,
                    "product_id": product.pk,
                    "category_id": world.product_cat_ids[p],
                    "name": product.name,
                    "quantity": qty,
                    "unit_price": product.price,
                    "unit_cost": product.cost,
                    "refunded_quantity": refunded,
                }
            )
            if refunded:
                records.append({"line_id": line_id, "quantity": refunded})
        if o.refund:
            self.refunds.add(
                {
                    "organisation_id": self.org_id,
                    "order_id": order_id,
                    "amount": o.refund_amount,
                    "cost": o.refund_cost,
                    "lines": records,
                    "reason": "顾客过敏" if full else "部分退款",
                    "created_at": o.refund_at,
                    "created_by_id": o.staff_id,
                }
            )

    def finish(self) -> None:
        """Move the id sequences past the ids chosen here (PostgreSQL; SQLite tracks them itself)."""
        statements = connection.ops.sequence_reset_sql(no_style(), [t.model for t in self.tables])
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
