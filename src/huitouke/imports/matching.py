"""Who and what a row names: customers, products, categories, stores, staff and bill payers.

Each index answers from memory and fills itself from the database a chunk of rows at a time,
so an import asks a few IN (...) queries per chunk instead of one query per row. Records
created by this import join the index at once, so later rows find them. In a dry run new
records get negative ids and nothing is written.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from huitouke.accounts.models import Store, User
from huitouke.core.bulk import BATCH as BATCH
from huitouke.core.bulk import batches as batches
from huitouke.customers.models import Customer, Source
from huitouke.customers.phones import normalise_phone
from huitouke.customers.pinyin import name_keys
from huitouke.imports.models import PayerAlias
from huitouke.sales.models import Category, Order, Product, Refund

_fake_ids = itertools.count(-1, -1)


def fake_id() -> int:
    """A negative id for a record a dry run would create."""
    return next(_fake_ids)


def e164(phone: str) -> str:
    """A phone from the readers (11-digit mobile, +…, landline) in the E.164 form customers store."""
    if len(phone) == 11 and phone.isdigit() and phone[0] == "1":
        return "+86" + phone  # the readers have already checked the mobile's shape
    return normalise_phone(phone)  # raises ValidationError


def phone_or_error(phone: str | None) -> str | None:
    """E.164 or None; raises ValueError when the number is not valid."""
    if not phone:
        return None
    try:
        return e164(phone)
    except ValidationError:
        raise ValueError(phone) from None


# The columns a new customer is built with; the rest take the model's defaults on insert.
CUSTOMER_DEFAULTS: dict[str, Any] = {
    "name": "",
    "phone": None,
    "external_id": "",
    "wechat_id": "",
    "gender": "",
    "birthday_kind": "solar",
    "birth_year": None,
    "birth_month": None,
    "birth_day": None,
    "birth_leap_month": False,
    "city": "",
    "address": "",
    "email": "",
    "source": Source.IMPORT.value,
    "home_store_id": None,
    "owner_id": None,
    "referrer_id": None,
    "notes": "",
    # Unknown until she answers: only a consent column of the file sets these.
    "consent_sms": False,
    "consent_email": False,
    "consent_wechat": False,
}


# The pinyin of a name, remembered: names repeat down a shop's file (a few thousand surname and
# given-name pairs cover most customers), and pypinyin takes ~0.1 ms a name, about a tenth of an
# order import's Python time. name_keys depends on the name alone.
_name_keys = functools.lru_cache(maxsize=1 << 16)(name_keys)


def new_customer(**values: Any) -> SimpleNamespace:
    """A customer to insert, with attribute access like a model instance (no pk until saved)."""
    return SimpleNamespace(**{**CUSTOMER_DEFAULTS, "pk": None, **values})


def customer_row(customer: SimpleNamespace) -> dict[str, Any]:
    """The column values of a new customer, for FastTable."""
    row = dict(vars(customer))
    del row["pk"]
    row["name_pinyin"], row["name_initials"] = _name_keys(row.get("name"))
    return row


@dataclass
class Cust:
    """What matching needs to know about a customer."""

    pk: int
    name: str
    external_id: str = ""
    phone: str | None = None
    wechat: str = ""
    new: bool = False  # created by this import


class CustomerIndex:
    """Customers by customer number, phone, WeChat id and name."""

    def __init__(self, organisation_id: int) -> None:
        self.org_id = organisation_id
        self.records: dict[int, Cust] = {}
        self.by_ext: dict[str, Cust] = {}
        self.by_phone: dict[str, Cust] = {}
        self.by_wechat: dict[str, Cust] = {}
        self.by_name: dict[str, list[Cust]] = {}
        self._asked: dict[str, set[str]] = {"ext": set(), "phone": set(), "wechat": set()}

    def prefetch(
        self,
        ext: Iterable[str] = (),
        phones: Iterable[str] = (),
        wechats: Iterable[str] = (),
        names: Iterable[str] = (),
    ) -> None:
        """Load the customers these keys could name (each key asked once per import)."""
        wanted = [
            ("ext", "external_id", {v for v in ext if v}),
            ("phone", "phone", {v for v in phones if v}),
            ("wechat", "wechat_id", {v for v in wechats if v}),
        ]
        for kind, column, values in wanted:
            todo = values - self._asked[kind]
            self._asked[kind] |= todo
            for batch in batches(sorted(todo)):
                self._load(column, batch)
        todo_names = {n for n in names if n and n not in self.by_name}
        for name in todo_names:
            self.by_name[name] = []
        for batch in batches(sorted(todo_names)):
            self._load("name", batch, names=True)

    def prefetch_pks(self, pks: Iterable[int]) -> None:
        """Load customers by id (those remembered payers are linked to)."""
        for batch in batches(sorted(set(pks))):
            self._load("id", batch)

    def _load(self, column: str, values: list[Any], names: bool = False) -> None:
        # Sorting here keeps "first customer wins" stable (no ORDER BY in SQL: see _lookup).
        rows = sorted(_lookup(self.org_id, column, values))
        for pk, name, ext, phone, wechat in rows:
            record = self.records.get(pk)
            if record is None:
                record = Cust(pk, name, ext, phone, wechat)
                self._add(record, in_name=names)
            elif names and name in self.by_name and record not in self.by_name[name]:
                self.by_name[name].append(record)

    def _add(self, record: Cust, in_name: bool = True) -> None:
        self.records[record.pk] = record
        if record.external_id:
            self.by_ext.setdefault(record.external_id, record)
        if record.phone:
            self.by_phone.setdefault(record.phone, record)
        if record.wechat:
            self.by_wechat.setdefault(record.wechat, record)
        # A name's list is complete only once the name was asked for; others wait for that.
        names = self.by_name.get(record.name)
        if names is not None and (in_name or record.new) and record not in names:
            names.append(record)

    def add_new(self, record: Cust) -> None:
        """A customer this import creates."""
        record.new = True
        self.by_name.setdefault(record.name, [])
        self._add(record)

    def set_key(self, record: Cust, field: str, value: str) -> None:
        """Record a key filled in on an existing customer."""
        setattr(record, field, value)
        table = {"external_id": self.by_ext, "phone": self.by_phone, "wechat": self.by_wechat}
        table[field].setdefault(value, record)

    def rekey(self, record: Cust, pk: int) -> None:
        """The real id of a record created with a placeholder id."""
        self.records.pop(record.pk, None)
        record.pk = pk
        self.records[pk] = record

    def find(
        self, ext: str | None, phone: str | None, wechat: str | None, name: str | None
    ) -> tuple[Cust | None, list[Cust]]:
        """(the customer these keys name, or None; the customers a bare name would fit)."""
        for table, key in ((self.by_ext, ext), (self.by_phone, phone), (self.by_wechat, wechat)):
            if key and key in table:
                return table[key], []
        if not name:
            return None, []
        # A name only fits customers whose own keys do not contradict the row's.
        fits = [
            c
            for c in self.by_name.get(name, [])
            if (not ext or not c.external_id)
            and (not phone or not c.phone)
            and (not wechat or not c.wechat)
        ]
        if len(fits) == 1:
            return fits[0], fits
        return None, fits


# Phones and customer numbers are indexed only by their partial unique indexes, whose
# conditions a lookup must repeat to use them. Even then SQLite, which has no statistics here,
# prefers the (organisation, merged_into, -id) index and reads every customer of the
# organisation for each lookup (seconds per chunk at 100k customers), so there it is told.
_PARTIAL_INDEXES = {
    "phone": ("customer_phone_unique_per_org", ""),
    "external_id": ("customer_external_id_unique_per_org", " AND NOT (external_id = '')"),
}


def _lookup(
    organisation_id: int, column: str, values: list[Any]
) -> list[tuple[int, str, str, str | None, str]]:
    """(pk, name, external_id, phone, wechat_id) of the unmerged customers whose `column` is in `values`."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    marks = ", ".join(["%s"] * len(values))
    hint = condition = ""
    if column in _PARTIAL_INDEXES:
        index, condition = _PARTIAL_INDEXES[column]
        condition += " AND merged_into_id IS NULL"
        if connection.vendor == "sqlite":
            hint = f" INDEXED BY {connection.ops.quote_name(index)}"
    # Elsewhere "merged_into_id IS NULL" stays out of the SQL, for the same planner's sake: it
    # would pick the (organisation, merged_into) index over the name or WeChat one.
    sql = (
        f"SELECT id, name, external_id, phone, wechat_id, merged_into_id FROM {table}{hint}"
        f" WHERE organisation_id = %s AND {column} IN ({marks}){condition}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation_id, *values])
        return [row[:5] for row in cursor.fetchall() if row[5] is None]


_Line = tuple[int | None, int | None, int | None, Decimal | None]


class ProductIndex:
    """Products by SKU and name, categories and stores by name, staff by display name or login."""

    def __init__(self, organisation_id: int) -> None:
        self.org_id = organisation_id
        self.by_sku: dict[str, tuple[int, int | None, Decimal]] = {}
        self.by_name: dict[str, tuple[int, int | None, Decimal]] = {}
        for pk, sku, name, category_id, cost in (
            Product.objects.filter(organisation_id=organisation_id)
            .order_by("pk")
            .values_list("pk", "sku", "name", "category_id", "cost")
        ):
            if sku:
                self.by_sku.setdefault(sku, (pk, category_id, cost))
            self.by_name.setdefault(name, (pk, category_id, cost))
        self.categories: dict[str, int] = {
            name: pk
            for pk, name in Category.objects.filter(organisation_id=organisation_id).values_list(
                "pk", "name"
            )
        }
        self.stores: dict[str, int] = {
            name: pk
            for pk, name in Store.objects.filter(organisation_id=organisation_id).values_list(
                "pk", "name"
            )
        }
        self.staff: dict[str, int] = {}
        for pk, username, display in (
            User.objects.filter(organisation_id=organisation_id, is_active=True)
            .order_by("pk")
            .values_list("pk", "username", "display_name")
        ):
            self.staff.setdefault(username, pk)
            if display:
                self.staff.setdefault(display, pk)
        self.created = {"products": 0, "categories": 0, "stores": 0}
        self._lines: dict[tuple[str | None, str | None, str | None], _Line] = {}

    def line(
        self,
        category: str | None,
        name: str | None,
        sku: str | None,
        price: Decimal,
        cost: Decimal | None,
        *,
        create: bool,
        write: bool,
    ) -> _Line:
        """(category id, product id, its category id, its cost) for a line, as category() and product() say.

        Remembered per (category, product name, SKU): once both are found or created the
        answer cannot change, and a file names the same few products over and over.
        """
        key = (category, name, sku)
        found = self._lines.get(key)
        if found is None:
            category_id = self.category(category, create=create, write=write)
            found = self._lines[key] = (
                category_id,
                *self.product(name, sku, category_id, price, cost, create=create, write=write),
            )
        return found

    def category(self, name: str | None, *, create: bool, write: bool) -> int | None:
        """The category called `name`, created when allowed."""
        if not name:
            return None
        pk = self.categories.get(name)
        if pk is None and create:
            pk = (
                Category.objects.create(organisation_id=self.org_id, name=name).pk
                if write
                else fake_id()
            )
            self.categories[name] = pk
            self.created["categories"] += 1
        return pk

    def store(self, name: str | None, default: int, *, write: bool) -> int:
        """The store called `name` (created when new), or the import's store."""
        if not name:
            return default
        pk = self.stores.get(name)
        if pk is None:
            pk = Store.objects.create(organisation_id=self.org_id, name=name).pk if write else 0
            self.stores[name] = pk
            self.created["stores"] += 1
        return pk or default

    def product(
        self,
        name: str | None,
        sku: str | None,
        category_id: int | None,
        price: Decimal,
        cost: Decimal | None,
        *,
        create: bool,
        write: bool,
    ) -> tuple[int | None, int | None, Decimal | None]:
        """(product id, its category id, its cost) for a line; created when allowed."""
        found = self.by_sku.get(sku) if sku else None
        if found is None and name:
            found = self.by_name.get(name)
        if found is not None:
            return found
        if not create or not name:
            return None, None, None
        if write:
            pk = Product.objects.create(
                organisation_id=self.org_id,
                name=name,
                sku=sku or "",
                category_id=category_id,
                price=price,
                cost=cost or Decimal("0.00"),
            ).pk
        else:
            pk = fake_id()
        record = (pk, category_id, cost or Decimal("0.00"))
        if sku:
            self.by_sku[sku] = record
        self.by_name.setdefault(name, record)
        self.created["products"] += 1
        return record


def existing_keys(
    model: type[Order] | type[Refund], organisation_id: int, keys: list[str]
) -> dict[str, int]:
    """{external_id: id} of the organisation's orders (or refunds) saved under these keys."""
    found: dict[str, int] = {}
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for batch in batches(keys):
            # Plain SQL: building a 500-value IN through the ORM costs more than the query.
            # The NOT (… = '') term is the partial unique index's own condition, so the index
            # serves the lookup on SQLite and PostgreSQL alike.
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"SELECT external_id, id FROM {table} WHERE organisation_id = %s"
                f" AND external_id IN ({marks}) AND NOT (external_id = '')",
                [organisation_id, *batch],
            )
            found.update(cursor.fetchall())
    return found


def load_aliases(organisation_id: int, platform: str) -> dict[str, int | None]:
    """{payer: customer id or None} remembered for a payment platform."""
    return dict(
        PayerAlias.objects.filter(organisation_id=organisation_id, platform=platform).values_list(
            "payer", "customer_id"
        )
    )


_SOURCE_WORDS = {
    "微信": Source.WECHAT,
    "朋友圈": Source.WECHAT,
    "公众号": Source.WECHAT,
    "抖音": Source.DOUYIN,
    "小红书": Source.XIAOHONGSHU,
    "美团": Source.MEITUAN,
    "大众点评": Source.MEITUAN,
    "点评": Source.MEITUAN,
    "转介绍": Source.REFERRAL,
    "介绍": Source.REFERRAL,
    "推荐": Source.REFERRAL,
    "老带新": Source.REFERRAL,
    "进店": Source.WALK_IN,
    "自然进店": Source.WALK_IN,
    "路过": Source.WALK_IN,
    "网店": Source.ONLINE_SHOP,
    "淘宝": Source.ONLINE_SHOP,
    "天猫": Source.ONLINE_SHOP,
    "京东": Source.ONLINE_SHOP,
    "有赞": Source.ONLINE_SHOP,
    "活动": Source.EVENT,
    "导入": Source.IMPORT,
}


def customer_source(text: str | None) -> str:
    """A source column's text as a Customer.source value ("other" when unrecognised)."""
    if not text:
        return Source.IMPORT
    folded = text.strip().casefold()
    for value, label in Source.choices:
        if folded in (value, str(label).casefold()):
            return value
    for word, value in _SOURCE_WORDS.items():
        if word in text:
            return value
    return Source.OTHER
