"""The orders side of the import engine: group rows into orders, find their customers, save.

Rows sharing an order number are one order; a bad row rejects its whole order. New customers,
then orders, then their lines are written with plain multi-row INSERTs (bulk.py), which give
back the new customers' and orders' ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import connection, models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.bulk import FastTable
from huitouke.customers.changes import customers_changed
from huitouke.customers.models import Customer
from huitouke.imports.matching import (
    Cust,
    CustomerIndex,
    ProductIndex,
    customer_row,
    existing_keys,
    fake_id,
    new_customer,
    phone_or_error,
)
from huitouke.imports.models import PayerAlias
from huitouke.imports.parsing import clean_text
from huitouke.imports.readers import WorkbookLimits
from huitouke.imports.reports import RawRows
from huitouke.imports.rows import ParsedOrderRow, make_error
from huitouke.imports.summary import (
    PREVIEW_ROWS,
    ROW_PREFIX,
    VISIT_PREFIX,
    ImportSummary,
    Reject,
    SimOrder,
    Tally,
    for_each_row,
    name_key,
    row_order_key,
    visit_key,
)
from huitouke.sales.models import ZERO, Order, OrderLine, OrderSource, OrderStatus

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from huitouke.accounts.models import Organisation, Store

CENT = Decimal("0.01")
_PAID, _IMPORTED = OrderStatus.PAID.value, OrderSource.IMPORT.value

# The fields an import writes, in the order of the tuples _build_order makes; the other columns
# take their defaults.
ORDER_FIELDS = (
    "organisation_id",
    "store_id",
    "customer_id",
    "staff_id",
    "placed_at",
    "status",
    "gross_amount",
    "discount_amount",
    "net_paid",
    "cost_amount",
    "source",
    "external_id",
    "note",
    "created_by_id",
)
LINE_FIELDS = (
    "order_id",
    "product_id",
    "category_id",
    "name",
    "quantity",
    "unit_price",
    "unit_cost",
    "import_key",
)
_CUSTOMER, _PLACED_AT, _NET_PAID, _KEY = (
    ORDER_FIELDS.index(f) for f in ("customer_id", "placed_at", "net_paid", "external_id")
)


def _same(value: Decimal) -> Decimal:
    return value


def _money_defaults(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """The money fields of `model` an import leaves at their defaults."""
    return tuple(
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.DecimalField) and f.attname not in names and f.has_default()
    )


# On SQLite the money is bound as its text, as Django's adapter for Decimal (`str`) would bind
# it, but without the adapter's call per value (~0.7 µs; eleven an order with its line, ~8 s of a
# 1M-row import). The money columns left at their defaults are written explicitly for the same
# reason, with their defaults' text. PostgreSQL gets the Decimals themselves.
ORDER_MONEY_DEFAULTS = _money_defaults(Order, ORDER_FIELDS)


class OrderRowsMixin:
    """Importer methods for order rows (the Importer provides the attributes below)."""

    def _money_binding(self) -> None:
        """Set `money` and `money_defaults`: how this connection is given money when writing."""
        if connection.vendor == "sqlite":
            self.money = str
            fields = {f.attname: f for f in Order._meta.concrete_fields}
            self.money_defaults = tuple(
                str(fields[name].get_default()) for name in ORDER_MONEY_DEFAULTS
            )
        else:
            self.money, self.money_defaults = _same, ()

    org: Organisation
    org_id: int
    store: Store
    store_id: int
    tz: ZoneInfo
    write: bool
    actor_id: int | None
    path: Any
    sheet: Any
    limits: WorkbookLimits
    platform: str | None
    create_customers: bool
    create_products: bool
    item_name: str
    customers: CustomerIndex
    products: ProductIndex
    summary: ImportSummary
    tables: dict[str, FastTable]
    aliases: dict[str, int | None]
    saved_numbers: set[str]
    sim_orders: dict[str, SimOrder]
    rejected_orders: set[str]
    rejected_visits: dict[str, int]
    visit_rows: dict[str, list[int]]
    new_customers: list[tuple[Cust, SimpleNamespace]]
    key_updates: dict[int, dict[str, str]]
    external_id_index: int | None
    raw: RawRows | None

    # Methods the Importer provides.
    column: Callable[[str], str | None]
    order_key: Callable[[ParsedOrderRow], str]

    aware: Callable[[Any], Any]
    db_time: Callable[[datetime], Any]
    money: Callable[[Decimal], Any]
    money_defaults: tuple[Any, ...]

    _payer_column: Callable[[], str | None]

    def _orders(self, rows: list[ParsedOrderRow], tally: Tally) -> None:
        self._reject_orders_of_bad_rows(tally)
        groups: dict[str, list[ParsedOrderRow]] = {}
        key_of = self.order_key
        for row in rows:
            groups.setdefault(key_of(row), []).append(row)
        if key_of is visit_key:
            self._reject_visits_of_bad_rows(groups, tally)
        for key in list(groups):
            first = groups[key][0]
            if first.external_id and first.external_id in self.rejected_orders:
                for row in groups.pop(key):
                    tally.errors.append(
                        make_error(
                            row.row,
                            self.column("external_id"),
                            row.external_id,
                            "order_line_rejected",
                        )
                    )
        # What is there already: an order under the group's key, or, for rows without an order
        # number, the rows of their visit that some order holds (see _rows_there). A visit
        # saved without one of its rows (a bad date or customer cell kept that row out of it)
        # gets the corrected row added; nothing is ever created twice.
        visit_mode = key_of is visit_key
        existing, there = self._rows_there(groups, visit_mode=visit_mode)
        new: list[tuple[str, list[ParsedOrderRow]]] = []
        extend: list[tuple[str, list[ParsedOrderRow]]] = []
        add: list[tuple[int, list[ParsedOrderRow]]] = []
        for key, group in groups.items():
            found = there.get(key)
            if key in self.sim_orders or key in self.saved_numbers:
                extend.append((key, group))
            elif found is None:
                new.append((key, group))
            elif (missing := [r for r in group if r.row not in found[0]]) and not visit_mode:
                new.append((key, group))  # one order per row: a row not there is an order
            elif missing:
                tally.skipped += len(group) - len(missing)
                add.append((found[1], missing))
                self._preview_order(tally, missing, None, "added")
            else:
                tally.skipped += len(group)
                tally.details["orders_existing"] += 1
                self._preview_order(tally, group, None, "existing")
        self._prefetch_customers([g[0] for _, g in new])
        owners: list[tuple[str, list[ParsedOrderRow], Cust | None]] = []
        for key, group in new:
            try:
                owners.append((key, group, self._customer_for_order(group[0], tally)))
            except Reject as reject:
                tally.errors.extend(for_each_row(reject.error, group))
        self._flush_customers(tally)
        orders: list[tuple[Any, ...]] = []
        lines: list[list[tuple[Any, ...]]] = []
        for key, group, cust in owners:
            order, order_lines = self._build_order(key, group, cust)
            if cust is not None:
                tally.touched.add(cust.pk)
            self._preview_order(tally, group, cust, "new")
            if self.write:
                orders.append(order)
                lines.append(order_lines)
            else:
                self.sim_orders[key] = SimOrder(
                    order[_CUSTOMER], order[_PLACED_AT], order[_NET_PAID]
                )
        for key, group, _cust in owners:
            if key.startswith(VISIT_PREFIX):
                tally.visit_rows[key] = [r.row for r in group]
        if owners:
            tally.created += len(owners)
            tally.details["orders_created"] += len(owners)
            # "18 rows → 11 orders" in the preview.
            tally.details["order_rows"] += sum(len(group) for _, group, _ in owners)
        if orders:
            ids = self.tables["order"].insert_tuples_returning(
                ORDER_FIELDS + ORDER_MONEY_DEFAULTS if self.money is str else ORDER_FIELDS,
                orders,
                prepared=("placed_at",),
            )
            self.tables["line"].insert_tuples(
                LINE_FIELDS,
                [
                    (order_id, *line)
                    for order_id, order_lines in zip(ids, lines, strict=True)
                    for line in order_lines
                ],
            )
            # Order numbers and visits may have more rows in a later chunk (row keys never repeat).
            tally.saved_numbers.update(
                key for order in orders if not (key := order[_KEY]).startswith(ROW_PREFIX)
            )
        for key, group in extend:
            self._extend_order(key, group, existing.get(key), tally)
            if key.startswith(VISIT_PREFIX):
                tally.visit_rows.setdefault(key, []).extend(r.row for r in group)
        for pk, missing in add:
            self._extend_order(None, missing, pk, tally, earlier=True)
        tally.details.update(
            {k: v for k, v in self.products.created.items() if v}
        )  # counted per chunk, then reset
        self.products.created = dict.fromkeys(self.products.created, 0)

    def _rows_there(
        self, groups: dict[str, list[ParsedOrderRow]], *, visit_mode: bool
    ) -> tuple[dict[str, int], dict[str, tuple[set[int], int]]]:
        """Orders already saved under the groups' keys ({key: id}), and per group that some
        order holds already: (the numbers of its rows held, the order to add the others to).

        A group with an order number is there when its order is. A row without one is there
        when an order is saved under its own key (imported one order per row), or when a line
        of an order of its visit came from it (`OrderLine.import_key`). Lines imported before
        lines kept their row's key are matched by what they hold (item, quantity, unit price),
        each line standing for one row, after the rows found under their own order's key have
        taken theirs. The
        visit's order, or else the first order holding one of its rows, takes the missing
        rows in visit mode; one order per row makes a missing row an order of its own.
        """
        families: dict[str, list[ParsedOrderRow]] = {}
        of_group: dict[str, str] = {}
        for key, group in groups.items():
            if group[0].external_id:
                continue
            family = key if visit_mode else visit_key(group[0])
            of_group[key] = family
            families.setdefault(family, []).extend(group)
        wanted = {*groups, *families}
        wanted |= {k for rows in families.values() for r in rows if (k := row_order_key(r))}
        existing = existing_keys(Order, self.org_id, list(wanted))
        there: dict[str, tuple[set[int], int]] = {}
        for key, group in groups.items():
            if group[0].external_id and key in existing:
                there[key] = ({r.row for r in group}, existing[key])
        orders_of: dict[str, list[int]] = {}
        for family, rows in families.items():
            keys = [family, *(row_order_key(r) or "" for r in rows)]
            found = sorted({existing[k] for k in keys if k in existing})
            if found:
                # The visit's own order first: the missing rows go there.
                first = existing.get(family)
                orders_of[family] = (
                    [first, *(pk for pk in found if pk != first)] if first else found
                )
        lines: dict[int, list[tuple[str, str, int, Decimal]]] = {}
        ids = sorted({pk for pks in orders_of.values() for pk in pks})
        for start in range(0, len(ids), 500):
            for order_id, *line in OrderLine.objects.filter(
                order_id__in=ids[start : start + 500]
            ).values_list("order_id", "import_key", "name", "quantity", "unit_price"):
                lines.setdefault(order_id, []).append(tuple(line))  # type: ignore[arg-type]
        held: dict[str, set[int]] = {}
        for family, pks in orders_of.items():
            keyed = {line[0] for pk in pks for line in lines.get(pk, []) if line[0]}
            loose: dict[tuple[str, int, Decimal], int] = {}
            for pk in pks:
                for _key, name, quantity, price in lines.get(pk, []):
                    if not _key:
                        what = (name, quantity, price)
                        loose[what] = loose.get(what, 0) + 1
            rows = families[family]
            found_rows = set()
            for row in rows:
                row_key = row_order_key(row) or ""
                if row_key in keyed:
                    found_rows.add(row.row)
                elif row_key in existing:
                    # Its own order (one per row); an unkeyed line of it is this row's.
                    found_rows.add(row.row)
                    if any(not line[0] for line in lines.get(existing[row_key], [])):
                        self._take(loose, row)
            for row in rows:
                if row.row not in found_rows and self._take(loose, row):
                    found_rows.add(row.row)
            held[family] = found_rows
        for key, family in of_group.items():
            if family in orders_of:
                there[key] = (held[family], orders_of[family][0])
        return existing, there

    def _take(self, loose: dict[tuple[str, int, Decimal], int], row: ParsedOrderRow) -> bool:
        """Take one unkeyed line holding what `row` would make, if there is one left."""
        what = (self._line_name(row), row.quantity, self._unit_price(row))
        if loose.get(what, 0) > 0:
            loose[what] -= 1
            return True
        return False

    def _line_name(self, row: ParsedOrderRow) -> str:
        return (row.product_name or row.category or self.item_name)[:100]

    @staticmethod
    def _unit_price(row: ParsedOrderRow) -> Decimal:
        if row.unit_price is not None:
            return row.unit_price
        return ((row.amount + (row.discount or ZERO)) / row.quantity).quantize(CENT)

    def _reject_orders_of_bad_rows(self, tally: Tally) -> None:
        # A bad row of a multi-row order rejects the whole order: never half an order saved.
        if self.external_id_index is None:
            return
        bad = sorted({e.row for e in tally.errors if e.row is not None})
        if not bad:
            return
        if self.raw is None:
            self.raw = RawRows(self.path, self.summary.format, self.sheet, self.limits)
        for number in bad:
            cells = self.raw.get(number) or []
            if self.external_id_index < len(cells):
                ident = clean_text(cells[self.external_id_index])
                if ident:
                    self.rejected_orders.add(ident)

    def _reject_visits_of_bad_rows(
        self, groups: dict[str, list[ParsedOrderRow]], tally: Tally
    ) -> None:
        """A bad row rejects its whole visit: never part of a visit saved, in any mode.

        The visit's rows in this chunk are left out; an order this run saved from its rows in
        an earlier chunk is taken out again. A re-import of the corrected file then finds no
        part of the visit and creates it whole.
        """
        found: dict[str, int] = {}
        for error in tally.errors:
            key = error.order
            if (
                key is not None
                and key.startswith(VISIT_PREFIX)
                and error.row is not None
                and key not in self.rejected_visits
            ):
                self.rejected_visits[key] = found[key] = error.row
        for key in [k for k in groups if k in self.rejected_visits]:
            bad = self.rejected_visits[key]
            for row in groups.pop(key):
                tally.errors.append(
                    make_error(row.row, None, row.customer_key, "visit_line_rejected", bad_row=bad)
                )
        for key, bad in found.items():
            if key in self.saved_numbers or key in self.sim_orders:
                self._unsave_visit(key, bad, tally)

    def _unsave_visit(self, key: str, bad: int, tally: Tally) -> None:
        """Take out the order an earlier chunk of this run saved for a visit found bad now."""
        numbers = self.visit_rows.get(key, [])
        if self.write:
            saved = (
                Order.objects.filter(organisation_id=self.org_id, external_id=key)
                .values_list("pk", "customer_id")
                .first()
            )
            if saved is not None:
                Order.objects.filter(pk=saved[0]).delete()  # its lines go with it
                if saved[1] is not None:
                    tally.touched.add(saved[1])
        else:
            self.sim_orders.pop(key, None)
        tally.unsaved.add(key)
        tally.created -= 1
        tally.details["orders_created"] -= 1
        tally.details["order_rows"] -= len(numbers)
        for number in numbers:
            tally.errors.append(make_error(number, None, None, "visit_line_rejected", bad_row=bad))

    def _prefetch_customers(self, rows: list[ParsedOrderRow]) -> None:
        self.customers.prefetch(
            ext=(r.customer_external_id for r in rows if r.customer_external_id),
            phones=(p for p in map(_phone_or_none, rows) if p),
            wechats=(r.wechat for r in rows if r.wechat),
            names=(name for name in map(name_key, rows) if name),
        )
        self.customers.prefetch_pks(
            pk for pk in self.aliases.values() if pk and pk not in self.customers.records
        )

    def _customer_for_order(self, row: ParsedOrderRow, tally: Tally) -> Cust | None:
        payer = (row.nickname or row.payer_id) if self.platform else None
        if payer and payer in self.aliases:
            linked = self.aliases[payer]
            if linked is None:
                return None  # the owner said: not a customer to remember
            if linked in self.customers.records:
                self._note_payer(payer, row, self.customers.records[linked], "alias")
                return self.customers.records[linked]
        try:
            phone = phone_or_error(row.phone)
        except ValueError:
            raise Reject(
                make_error(row.row, self.column("phone"), row.phone, "phone_invalid")
            ) from None
        name = name_key(row)
        ext, wechat = row.customer_external_id, row.wechat
        found, fits = self.customers.find(ext, phone, wechat, name)
        if found is None and len(fits) > 1 and not (ext or phone or wechat):
            self._note_payer(payer, row, None, "ambiguous", fits)
            column = self.column("customer_name") or self.column("nickname") or self._payer_column()
            raise Reject(make_error(row.row, column, name, "customer_ambiguous"))
        if found is not None:
            if fits:  # matched by name: fill in the keys she did not have yet
                self._fill_keys(found, ext, phone, wechat, tally)
            if payer:
                tally.aliases[payer] = found.pk
            self._note_payer(payer, row, found, "name")
            return found
        if not self.create_customers:
            self._note_payer(payer, row, None, "none")
            column = self.column("customer_name") or self.column("phone") or self._payer_column()
            raise Reject(make_error(row.row, column, row.customer_key, "customer_not_found"))
        placed_at = self.aware(row.placed_at)
        display = name or (phone and phone.removeprefix("+86")) or wechat or ext or _("Customer")
        record = Cust(fake_id(), display[:100], ext or "", phone, wechat or "")
        self.customers.add_new(record)
        instance = new_customer(
            organisation_id=self.org.pk,
            name=record.name,
            phone=phone,
            external_id=ext or "",
            wechat_id=wechat or "",
            home_store_id=self.products.store(row.store, self.store.pk, write=self.write),
            owner_id=self.products.staff.get(row.staff or ""),
            created_at=placed_at,
            created_by_id=self.actor_id,
        )
        self.new_customers.append((record, instance))
        tally.details["customers_created"] += 1
        if payer:
            tally.aliases[payer] = record.pk
        self._note_payer(payer, row, record, "new")
        return record

    def _fill_keys(
        self, cust: Cust, ext: str | None, phone: str | None, wechat: str | None, tally: Tally
    ) -> None:
        changes: dict[str, str] = {}
        if ext and not cust.external_id and ext not in self.customers.by_ext:
            changes["external_id"] = ext
        if phone and not cust.phone and phone not in self.customers.by_phone:
            changes["phone"] = phone
        if wechat and not cust.wechat:
            changes["wechat"] = wechat
        if not changes:
            return
        for name, value in changes.items():
            self.customers.set_key(cust, name, value)
        if cust.new:
            instance = next(i for r, i in self.new_customers if r is cust)
            for name, value in changes.items():
                setattr(instance, "wechat_id" if name == "wechat" else name, value)
        else:
            self.key_updates.setdefault(cust.pk, {}).update(changes)
            tally.details["customers_updated"] += 1

    def _flush_customers(self, tally: Tally) -> None:
        """Write this chunk's new customers (their ids are needed by the orders) and filled-in keys."""
        if not self.write:
            return
        if self.new_customers:
            ids = self.tables["customer"].insert_returning(
                [customer_row(i) for _, i in self.new_customers]
            )
            renamed: dict[int, int] = {}
            for (record, instance), pk in zip(self.new_customers, ids, strict=True):
                renamed[record.pk] = pk
                instance.pk = pk
                self.customers.rekey(record, pk)
            for payer, linked in list(tally.aliases.items()):
                if linked is not None and linked in renamed:
                    tally.aliases[payer] = renamed[linked]
        if self.key_updates:
            now = timezone.now()
            for pk, changes in self.key_updates.items():
                fields = {("wechat_id" if k == "wechat" else k): v for k, v in changes.items()}
                Customer.objects.filter(pk=pk).update(updated_at=now, **fields)
        # In the chunk's transaction: a rolled-back chunk announces nothing.
        customers_changed(
            self.org.pk,
            created=[i.pk for _, i in self.new_customers if i.pk],
            updated=[pk for pk in self.key_updates if pk > 0],
        )
        if self.platform and tally.aliases:
            PayerAlias.objects.bulk_create(
                [
                    PayerAlias(
                        organisation_id=self.org.pk,
                        platform=self.platform,
                        payer=payer[:100],
                        customer_id=pk,
                        created_by_id=self.actor_id,
                    )
                    for payer, pk in tally.aliases.items()
                    if payer not in self.aliases
                ],
                ignore_conflicts=True,
            )
        for record, _instance in self.new_customers:
            tally.touched.add(record.pk)  # every customer gets her stats row

    def _build_order(
        self, key: str, group: list[ParsedOrderRow], cust: Cust | None
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """The order as a tuple of ORDER_FIELDS, and its lines as tuples of LINE_FIELDS[1:].

        Its time is the value the database stores when writing (see local_datetime_adapter),
        and the aware datetime in a dry run; its money the value bound when writing on SQLite
        (the text, followed by the defaults of ORDER_MONEY_DEFAULTS), the Decimal otherwise.
        """
        first = group[0]
        store_id = (
            self.products.store(first.store, self.store_id, write=self.write)
            if first.store
            else self.store_id
        )
        lines, gross, net, cost = self._lines(group)
        write = self.write
        money = self.money if write else _same
        order = (
            self.org_id,
            store_id,
            cust.pk if cust else None,
            self.products.staff.get(first.staff) if first.staff else None,
            self.db_time(first.placed_at) if write else self.aware(first.placed_at),
            _PAID,
            money(gross),
            money(max(gross - net, ZERO)),
            money(net),
            money(cost),
            _IMPORTED,
            key,
            first.note[:200] if first.note else "",
            self.actor_id,
            *(self.money_defaults if write else ()),
        )
        return order, lines

    def _lines(
        self, group: list[ParsedOrderRow]
    ) -> tuple[list[tuple[Any, ...]], Decimal, Decimal, Decimal]:
        """The lines of an order as tuples of LINE_FIELDS[1:] (no order id yet), and its totals.

        The lines' money is as _build_order's: its text when writing on SQLite.
        """
        lines: list[tuple[Any, ...]] = []
        gross = net = cost = ZERO
        products, create, write = self.products, self.create_products, self.write
        money = self.money if write else _same
        for row in group:
            quantity = row.quantity
            unit_price = self._unit_price(row)
            category_id, product_id, product_category, product_cost = products.line(
                row.category,
                row.product_name,
                row.sku,
                unit_price,
                row.unit_cost,
                create=create,
                write=write,
            )
            unit_cost = row.unit_cost if row.unit_cost is not None else (product_cost or ZERO)
            lines.append(
                (
                    _real(product_id),
                    _real(category_id) or _real(product_category),
                    self._line_name(row),
                    quantity,
                    money(unit_price),
                    money(unit_cost),
                    row_order_key(row) or "",
                )
            )
            gross += unit_price * quantity
            net += row.amount
            cost += unit_cost * quantity
        return lines, gross, net, cost

    def _extend_order(
        self,
        key: str | None,
        group: list[ParsedOrderRow],
        pk: int | None,
        tally: Tally,
        *,
        earlier: bool = False,
    ) -> None:
        """Add rows' lines to an order: one this run already saved from earlier in the file, or
        (`earlier`) the order of a visit an earlier import saved without these rows."""
        lines, gross, net, cost = self._lines(group)
        if earlier:
            tally.updated += 1
            tally.details["order_rows_added"] += len(group)
        else:
            tally.details["order_rows_appended"] += len(group)
            tally.details["order_rows"] += len(group)
        if not self.write or pk is None:
            sim = self.sim_orders.get(key) if key is not None else None
            if sim is not None:
                sim.net += net
            return
        self.tables["line"].insert_tuples(LINE_FIELDS, [(pk, *line) for line in lines])
        Order.objects.filter(pk=pk).update(
            gross_amount=F("gross_amount") + gross,
            net_paid=F("net_paid") + net,
            cost_amount=F("cost_amount") + cost,
            discount_amount=F("discount_amount") + max(gross - net, ZERO),
            updated_at=timezone.now(),
        )
        customer_id = Order.objects.values_list("customer_id", flat=True).get(pk=pk)
        if customer_id is not None:
            tally.touched.add(customer_id)

    def _preview_order(
        self, tally: Tally, group: list[ParsedOrderRow], cust: Cust | None, status: str
    ) -> None:
        if len(self.summary.preview) + len(tally.preview) >= PREVIEW_ROWS:
            return
        first = group[0]
        tally.preview.append(
            {
                "row": first.row,
                "status": status,
                "external_id": first.external_id or "",
                "customer": cust.name if cust else (first.customer_key or ""),
                "customer_new": bool(cust and cust.new),
                "placed_at": self.aware(first.placed_at)
                .astimezone(self.tz)
                .strftime("%Y-%m-%d %H:%M"),
                "items": "; ".join(
                    f"{r.product_name or r.category or '—'} × {r.quantity}" for r in group
                ),
                "amount": str(sum((r.amount for r in group), ZERO)),
                "store": first.store or self.store.name,
            }
        )

    def _note_payer(
        self,
        payer: str | None,
        row: ParsedOrderRow,
        cust: Cust | None,
        how: str,
        candidates: list[Cust] = (),  # type: ignore[assignment]
    ) -> None:
        if not payer:
            return
        info = self.summary.payers.get(payer)
        if info is None:
            info = self.summary.payers[payer] = {
                "payer": payer,
                "platform": self.platform,
                "rows": 0,
                "amount": "0.00",
                "customer_id": cust.pk if cust and cust.pk > 0 else None,
                "customer_name": cust.name if cust else "",
                "match": how,
                "candidates": [[c.pk, c.name] for c in candidates[:20]],
            }
        info["rows"] += 1
        info["amount"] = str(Decimal(info["amount"]) + row.amount)


def _real(pk: int | None) -> int | None:
    return pk if pk is not None and pk > 0 else None


def _phone_or_none(row: ParsedOrderRow) -> str | None:
    # A bad phone is reported when the row's customer is looked for, not here.
    try:
        return phone_or_error(row.phone)
    except ValueError:
        return None
