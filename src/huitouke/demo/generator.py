"""The demo data: a two-store beauty salon with two years of believable history.

`generate_demo` creates the organisation, stores, staff and catalogue with the ORM, simulates the
customers (`huitouke.demo.simulation`), writes them in chunks with plain multi-row INSERTs
(`huitouke.demo.rows`) and finally fills every customer's stats with `rebuild_stats` in one
pass: recording 30,000 orders one by one through `do_record_order` would take minutes.
"""

from __future__ import annotations

import random
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from huitouke.accounts.models import Industry, Organisation, Role, Store, User
from huitouke.customers.archive_fields import apply_industry_template
from huitouke.customers.models import Tag
from huitouke.demo import names
from huitouke.demo.rows import Writer
from huitouke.demo.simulation import POTENTIAL_SHARE, TIME_ZONE, World, join_days
from huitouke.sales.models import Category, Product
from huitouke.sales.stats import rebuild_stats

DEMO_PASSWORD = "huitouke-demo"
ORGANISATION_NAME = "玫瑰美颜 Rose Beauty"
CHUNK = 500  # customers simulated and written per batch: bounds memory at a million orders

# (username, role, store index, display name): the owner, a manager per store, three sales staff.
DEMO_ACCOUNTS: tuple[tuple[str, str, int, str], ...] = (
    ("boss", Role.OWNER.value, 0, "林老板"),
    ("manager1", Role.MANAGER.value, 0, "陈店长"),
    ("manager2", Role.MANAGER.value, 1, "周店长"),
    ("staff1", Role.STAFF.value, 0, "小美"),
    ("staff2", Role.STAFF.value, 0, "小雅"),
    ("staff3", Role.STAFF.value, 1, "小琳"),
)

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoLogin:
    """One demo account as printed for the user."""

    username: str
    password: str
    role: str
    store: str
    display_name: str


@dataclass
class DemoSummary:
    """What `generate_demo` wrote, and the time the stats were computed at."""

    organisation_id: int
    as_of: date
    stats_time: datetime
    customers: int = 0
    potential_customers: int = 0
    orders: int = 0
    order_lines: int = 0
    refunds: int = 0
    interactions: int = 0
    family_members: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


def _setup() -> tuple[
    Organisation,
    list[Store],
    list[list[User]],
    list[DemoLogin],
    list[Category],
    list[Product],
    dict[str, Tag],
]:
    organisation = Organisation.objects.create(
        name=ORGANISATION_NAME, industry=Industry.BEAUTY, time_zone=TIME_ZONE
    )
    apply_industry_template(organisation, "beauty")
    stores = [
        Store.objects.create(
            organisation=organisation, name=n, address=a, phone=p, sms_signature="玫瑰美颜"
        )
        for n, a, p in names.STORES
    ]
    staff_by_store: list[list[User]] = [[], []]
    logins = []
    # All six share the demo password: hash it once (argon2 takes a noticeable moment per hash).
    hashed = make_password(DEMO_PASSWORD)
    for username, role, store_index, display in DEMO_ACCOUNTS:
        user = User(
            username=username,
            organisation=organisation,
            role=role,
            store=stores[store_index],
            display_name=display,
            is_staff=role == Role.OWNER,  # the owner may open the Django admin
        )
        user.password = hashed
        user.save()
        if role != Role.OWNER:
            staff_by_store[store_index].append(user)
        logins.append(
            DemoLogin(username, DEMO_PASSWORD, str(role), stores[store_index].name, display)
        )
    categories = [
        Category.objects.create(organisation=organisation, name=n, cycle_days=cycle)
        for n, cycle, _w in names.CATEGORIES
    ]
    by_name = {c.name: c for c in categories}
    products = Product.objects.bulk_create(
        Product(
            organisation=organisation,
            sku=f"SKU-{i + 1:03d}",
            name=n,
            category=by_name[cat],
            price=Decimal(price),
            cost=Decimal(cost),
            use_cycle_days=by_name[cat].cycle_days,
        )
        for i, (cat, n, price, cost) in enumerate(names.PRODUCTS)
    )
    Tag.objects.bulk_create(Tag(organisation=organisation, name=n) for n in names.TAGS)
    tags = {t.name: t for t in Tag.objects.filter(organisation=organisation)}
    return organisation, stores, staff_by_store, logins, categories, products, tags


def generate_demo(
    *,
    customers: int = 3000,
    seed: int = 42,
    as_of: date | None = None,
    progress: ProgressFn | None = None,
) -> DemoSummary:
    """Fill an empty database with the demo salon: staff, catalogue, customers, orders, stats."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if Organisation.objects.exists():
        raise ValueError(
            "The demo data needs an empty database, but an organisation already exists."
        )
    started = timer.perf_counter()
    tz = ZoneInfo(TIME_ZONE)
    now = timezone.now()
    as_of = as_of or now.astimezone(tz).date()
    end = min(datetime.combine(as_of, time(23, 59, 59), tz), now.astimezone(tz))
    rng = random.Random(seed)
    report = progress or (lambda stage, done, total: None)

    with transaction.atomic():
        report("setup", 0, 1)
        organisation, stores, staff_by_store, logins, categories, products, tags = _setup()
        report("setup", 1, 1)
        world = World(rng, as_of, end, stores, staff_by_store, categories, products, tags)
        summary = DemoSummary(
            organisation_id=organisation.pk, as_of=as_of, stats_time=end, logins=logins
        )
        first_days = join_days(rng, customers)
        writer = Writer(world, organisation, now)
        for first in range(0, customers, CHUNK):
            plans = [
                world.customer(k, first_days[k], rng.random() < POTENTIAL_SHARE, earlier=k)
                for k in range(first, min(first + CHUNK, customers))
            ]
            writer.write(plans)
            report("customers", writer.customers.count, customers)
        writer.finish()
        summary.customers = writer.customers.count
        summary.potential_customers = writer.potential
        summary.orders = writer.orders.count
        summary.order_lines = writer.lines.count
        summary.refunds = writer.refunds.count
        summary.interactions = writer.interactions.count
        summary.family_members = writer.family.count
        report("stats", 0, 1)
        rebuild_stats(organisation, now=end)
        report("stats", 1, 1)
    summary.seconds = timer.perf_counter() - started
    return summary
