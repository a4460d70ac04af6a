"""A small hand-built shop whose analytics as of 2024-06-30 are worked out by hand below.

Time zone Asia/Shanghai; S = 90, C = 180, RFM look-back 365 days, high/low against the mean.
Categories: 面膜 (mask, no configured cycle) and 精华 (serum, configured cycle 120 days).

customer  orders (local time, net yuan)                              stage      R   F  M
A  staff_a  2024-01-10 mask 200, 2024-06-20 mask 300                active     10  2  500
B  staff_a  2024-03-31 mask 100                                     silent     91  1  100
C  -        2023-12-01 mask 50                                      churned   212  1   50
D  staff_b  (none)                                                  potential
E  staff_a  2024-06-30 23:30 mask 80; 2024-07-01 00:30 mask 999     new         0  1   80
            (after T in local time, although 2024-06-30 in UTC)
F  -        2023-10-01 mask 150, 2024-03-22 serum 400               active    100  2  550
            (serum cycle 120 lengthens S to 120 and C to 240)
G  -        2023-06-01 mask 100, 2024-06-10 mask 120 (store 2)      active,    20  1  120
            (gap 375 > 180 and 20 < 90: reactivated; 2023-06-01 is outside the look-back)
H  -        2024-05-31 serum 500, 200 refunded                      new        30  1  300
I  -        2024-06-01 mask 200, fully refunded                     potential

RFM scores (n = 7, p = (worse + equal / 2) / 7, score = min(5, floor(5p) + 1)):
  R: E 5, A 4, G 4, H 3, B 2, F 2, C 1;  F: A, F 5, others 2;  M: F 5, A 4, H 4, G 3, B 2, E 2, C 1.
Means: R 463/7 = 66.1 days, F 9/7, M 1700/7 = 242.9 yuan, so segments:
  A champions (A), H promising_big_spenders (A), F loyal_slipping (B),
  E and G new_promising (C), B and C lost (C); D and I potential (D).
Mask repeat gaps: A 162, G 375 -> p25 215.25, median 268.5 (learned 269), p75 321.75.
Due (window open today or within 6 days): F mask (273 days, due now), F serum (100 days in the
configured [90, 150], due now), C mask (212 days: opens at 215.25, within the week).
KPIs 2024-06-01..30: A 300, E 80, G 120 -> 3 buyers (E new), 3 orders, revenue 500,
returning revenue 420; store 1: 380 (A, E), store 2: 120 (G); staff_a's customers: 380.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from tests.helpers import make_customer

from huitouke.accounts.models import Organisation, Store, User
from huitouke.customers.models import Customer
from huitouke.sales.actions import LineInput, do_record_order, do_refund_order
from huitouke.sales.models import Category, Product

AS_OF = dt.date(2024, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Shop:
    customers: dict[str, Customer]
    mask: Category
    serum: Category


def at(day: str, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A local time in Shanghai on an ISO day."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), TZ)


def build_shop(
    org: Organisation, store1: Store, store2: Store, staff_a: User, staff_b: User
) -> Shop:
    """Create the shop described in the module docstring."""
    mask = Category.objects.create(organisation=org, name="面膜")
    serum = Category.objects.create(organisation=org, name="精华", cycle_days=120)
    products = {
        "mask": Product.objects.create(
            organisation=org,
            name="补水面膜",
            category=mask,
            price=Decimal("100"),
            cost=Decimal("30"),
        ),
        "serum": Product.objects.create(
            organisation=org,
            name="玻尿酸精华",
            category=serum,
            price=Decimal("400"),
            cost=Decimal("100"),
        ),
    }
    owners = {"A": staff_a, "B": staff_a, "D": staff_b, "E": staff_a}
    customers = {
        key: make_customer(org, name=f"客户{key}", owner=owners.get(key), home_store=store1)
        for key in "ABCDEFGHI"
    }

    def order(key: str, when: dt.datetime, product: str, price: str, store: Store = store1):
        return do_record_order(
            organisation=org,
            store=store,
            customer=customers[key],
            lines=[LineInput(quantity=1, product=products[product], unit_price=Decimal(price))],
            actor=None,
            placed_at=when,
        )

    order("A", at("2024-01-10"), "mask", "200")
    order("A", at("2024-06-20"), "mask", "300")
    order("B", at("2024-03-31"), "mask", "100")
    order("C", at("2023-12-01"), "mask", "50")
    order("E", at("2024-06-30", 23, 30), "mask", "80")
    order("E", at("2024-07-01", 0, 30), "mask", "999")
    order("F", at("2023-10-01"), "mask", "150")
    order("F", at("2024-03-22"), "serum", "400")
    order("G", at("2023-06-01"), "mask", "100")
    order("G", at("2024-06-10"), "mask", "120", store=store2)
    h = order("H", at("2024-05-31"), "serum", "500")
    do_refund_order(order=h, actor=None, amount=Decimal("200"))
    i = order("I", at("2024-06-01"), "mask", "200")
    do_refund_order(order=i, actor=None, amount=Decimal("200"))
    return Shop(customers=customers, mask=mask, serum=serum)


@dataclass
class World:
    """Personas (with their own usernames) and the shop, shared by every test of a module."""

    org: Organisation
    store1: Store
    store2: Store
    owner: User
    manager: User
    staff_a: User
    staff_b: User
    staff_c: User
    shop: Shop


def make_world() -> World:
    """The organisation of tests/conftest.py with the shop built in it (usernames w_*)."""
    from tests.helpers import make_user

    from huitouke.accounts.models import Role

    org = Organisation.objects.create(name="Rose Beauty")
    store1 = Store.objects.create(organisation=org, name="万达店")
    store2 = Store.objects.create(organisation=org, name="国贸店")
    people = {
        "owner": make_user("w_owner", org, Role.OWNER, store1, display_name="王老板"),
        "manager": make_user("w_manager", org, Role.MANAGER, store1, display_name="李店长"),
        "staff_a": make_user("w_staff_a", org, Role.STAFF, store1, display_name="小美"),
        "staff_b": make_user("w_staff_b", org, Role.STAFF, store1, display_name="小丽"),
        "staff_c": make_user("w_staff_c", org, Role.STAFF, store2, display_name="小芳"),
    }
    shop = build_shop(org, store1, store2, people["staff_a"], people["staff_b"])
    return World(org=org, store1=store1, store2=store2, shop=shop, **people)


@contextmanager
def shared_world() -> Iterator[World]:
    """Build a World once for a module inside a transaction rolled back at the end.

    Each test still runs in its own nested transaction (pytest-django's `db`), so what a
    test writes is undone before the next one; only the world is built once.
    """
    with transaction.atomic():
        yield make_world()
        transaction.set_rollback(True)
