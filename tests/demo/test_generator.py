"""The demo data generator: counts, consistent money, true stats, a believable mix.

Loads once for the module (see `demo`); tests that need an empty database are in test_fresh_loads.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from huitouke.accounts.models import Organisation, Role, Store, User
from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.customers.models import (
    Customer,
    CustomerStats,
    CustomField,
    FamilyMember,
    Interaction,
)
from huitouke.customers.phones import normalise_phone
from huitouke.customers.pinyin import name_keys
from huitouke.demo.generator import DEMO_PASSWORD, DemoSummary, generate_demo
from huitouke.sales.models import Category, Order, OrderLine, Product, Refund

AS_OF = date(2025, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")
N = 200


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DemoSummary]:
    """One demo load shared by this module's read-only tests, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield generate_demo(customers=N, seed=7, as_of=AS_OF)
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _db(db: Any) -> None:
    """Each test runs inside its own savepoint on top of the shared load."""


def local_day(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def test_counts_are_as_asked(demo: DemoSummary) -> None:
    assert Organisation.objects.count() == 1
    org = Organisation.objects.get()
    assert org.industry == "beauty"
    assert Store.objects.filter(organisation=org).count() == 2
    roles = Counter(User.objects.filter(organisation=org).values_list("role", flat=True))
    assert roles == {Role.OWNER: 1, Role.MANAGER: 2, Role.STAFF: 3}
    assert set(User.objects.values_list("username", flat=True)) == {
        "boss",
        "manager1",
        "manager2",
        "staff1",
        "staff2",
        "staff3",
    }
    assert User.objects.get(username="staff3").check_password(DEMO_PASSWORD)
    assert CustomField.objects.filter(organisation=org).count() == len(INDUSTRY_TEMPLATES["beauty"])

    cycles = dict(Category.objects.values_list("name", "cycle_days"))
    assert (
        cycles["面膜"] == 30
        and cycles["香水"] == 240
        and len(set(cycles.values())) == len(cycles) >= 6
    )
    products = list(Product.objects.all())
    assert 35 <= len(products) <= 45
    assert all(p.price > p.cost > 0 and p.category_id for p in products)

    assert Customer.objects.count() == N == demo.customers
    buyers = Customer.objects.filter(orders__isnull=False).distinct().count()
    orders = Order.objects.count()
    assert orders == demo.orders
    assert 8 <= orders / buyers <= 15, "about ten orders per buying customer"
    assert OrderLine.objects.count() == demo.order_lines
    assert Refund.objects.count() == demo.refunds
    assert Interaction.objects.count() == demo.interactions
    assert FamilyMember.objects.count() == demo.family_members


def test_every_order_adds_up(demo: DemoSummary) -> None:
    refunds: dict[int, list[Refund]] = defaultdict(list)
    for refund in Refund.objects.all():
        refunds[refund.order_id].append(refund)
    kinds = Counter()
    for order in Order.objects.prefetch_related("lines"):
        lines = list(order.lines.all())
        assert lines, order
        assert order.gross_amount == sum(ln.unit_price * ln.quantity for ln in lines)
        assert order.cost_amount == sum(ln.unit_cost * ln.quantity for ln in lines)
        assert (
            order.net_paid
            == order.gross_amount
            - order.discount_amount
            - order.coupon_amount
            - order.points_amount
        )
        assert order.net_paid > 0 and order.discount_amount >= 0
        assert order.placed_at <= demo.stats_time
        assert local_day(order.placed_at) > AS_OF - timedelta(days=730)
        mine = refunds.get(order.pk, [])
        assert order.refunded_amount == sum((r.amount for r in mine), Decimal(0))
        refunded_qty = Counter()
        for r in mine:
            assert order.placed_at <= r.created_at <= demo.stats_time
            for record in r.lines:
                refunded_qty[record["line_id"]] += record["quantity"]
        assert {ln.pk: ln.refunded_quantity for ln in lines if ln.refunded_quantity} == dict(
            refunded_qty
        )
        if order.status == "refunded":
            kinds["full"] += 1
            assert (
                order.refunded_amount == order.net_paid and order.refunded_cost == order.cost_amount
            )
            assert all(ln.refunded_quantity == ln.quantity for ln in lines)
        else:
            assert order.status == "paid" and order.refunded_amount < order.net_paid
            assert order.refunded_cost == sum((r.cost for r in mine), Decimal(0))
            assert order.refunded_cost == sum(ln.unit_cost * ln.refunded_quantity for ln in lines)
            kinds["partial" if mine else "none"] += 1
    assert kinds["full"] > 0 and kinds["partial"] > 0
    assert kinds["full"] + kinds["partial"] < 0.05 * demo.orders


def test_stats_equal_a_recomputation_from_the_orders(demo: DemoSummary) -> None:
    expected: dict[int, dict[str, Any]] = {}
    year_ago = demo.stats_time - timedelta(days=365)
    for order in Order.objects.filter(status="paid").order_by("placed_at"):
        e = expected.setdefault(
            order.customer_id,
            {
                "first": order.placed_at,
                "count": 0,
                "spend": Decimal(0),
                "margin": Decimal(0),
                "12m": Decimal(0),
            },
        )
        net = order.net_paid - order.refunded_amount
        e["last"] = order.placed_at
        e["count"] += 1
        e["spend"] += net
        e["margin"] += net - (order.cost_amount - order.refunded_cost)
        if order.placed_at > year_ago:
            e["12m"] += net
    last_cats: dict[int, set[int]] = defaultdict(set)
    # Her last visit: every paid order on the local date of her last one (lines not returned).
    zone = ZoneInfo(Organisation.objects.get().time_zone)
    for line in OrderLine.objects.select_related("order"):
        e = expected.get(line.order.customer_id)
        if (
            e
            and line.order.status == "paid"
            and line.quantity > line.refunded_quantity
            and line.category_id is not None
            and line.order.placed_at.astimezone(zone).date() == e["last"].astimezone(zone).date()
        ):
            last_cats[line.order.customer_id].add(line.category_id)

    stats = {s.customer_id: s for s in CustomerStats.objects.all()}
    assert len(stats) == N
    for cid, s in stats.items():
        e = expected.get(cid)
        if e is None:
            assert (s.orders_count, s.net_spend, s.first_order_at, s.last_order_at) == (
                0,
                0,
                None,
                None,
            )
            continue
        assert s.first_order_at == e["first"] and s.last_order_at == e["last"]
        assert s.orders_count == e["count"]
        assert (
            s.net_spend == e["spend"] and s.gross_margin == e["margin"] and s.spend_12m == e["12m"]
        )
        assert s.avg_order_value == (e["spend"] / e["count"]).quantize(Decimal("0.01"))
        assert s.last_order_categories == sorted(last_cats[cid])


def test_the_mix_has_potential_lapsed_and_returning_customers(demo: DemoSummary) -> None:
    days: dict[int, list[date]] = defaultdict(list)
    for cid, placed in (
        Order.objects.filter(status="paid")
        .order_by("placed_at")
        .values_list("customer_id", "placed_at")
    ):
        days[cid].append(local_day(placed))
    potential = [c for c in Customer.objects.values_list("pk", flat=True) if c not in days]
    assert 0.05 * N <= len(potential) <= 0.16 * N
    with_contacts = set(
        Interaction.objects.filter(customer_id__in=potential).values_list("customer_id", flat=True)
    )
    assert len(with_contacts) >= 0.9 * len(potential)
    # A buyer whose only order was refunded in full has no counted order either.
    assert demo.potential_customers <= len(potential) <= demo.potential_customers + 3

    since = [(AS_OF - d[-1]).days for d in days.values()]
    assert sum(s > 180 for s in since) >= 0.05 * len(since), "some customers stopped buying"
    assert sum(s <= 30 for s in since) >= 0.3 * len(since), "most regulars are still coming"
    long_gap = [d for d in days.values() if any((b - a).days > 180 for a, b in pairwise(d))]
    assert long_gap, "some customers came back after a long break"
    assert Customer.objects.filter(owner__isnull=True).exists()
    assert Customer.objects.filter(owner__isnull=False).values("owner").distinct().count() == 5


def test_orders_lean_towards_weekends_and_festivals(demo: DemoSummary) -> None:
    per_day = Counter(local_day(p) for p in Order.objects.values_list("placed_at", flat=True))
    weekday = Counter()
    for day, n in per_day.items():
        weekday[day.weekday()] += n
    assert weekday[5] > 1.2 * weekday[1], "Saturdays busier than Tuesdays"
    # The days before 38妇女节 and 双11 beat the same month's average day.
    for first, last in (
        (date(2025, 3, 5), date(2025, 3, 8)),
        (date(2024, 11, 6), date(2024, 11, 11)),
    ):
        festival = sum(
            per_day[first + timedelta(days=i)] for i in range((last - first).days + 1)
        ) / ((last - first).days + 1)
        month = (
            sum(n for d, n in per_day.items() if (d.year, d.month) == (first.year, first.month))
            / 30
        )
        assert festival > 1.3 * month


def test_phones_are_unique_valid_mainland_mobiles(demo: DemoSummary) -> None:
    phones = [p for p in Customer.objects.values_list("phone", flat=True) if p]
    assert len(phones) >= 0.9 * N
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert normalise_phone(phone) == phone
        assert phone[:6] in {f"+861{a}{b}" for a in "358" for b in "0123456789"} - {"+86154"}


def test_profiles_are_varied_and_fit_the_archive_template(demo: DemoSummary) -> None:
    customers = list(Customer.objects.prefetch_related("tags"))
    genders = Counter(c.gender for c in customers)
    assert genders["f"] > 0.8 * N and genders["m"] > 0
    assert all(2 <= len(c.name) <= 4 for c in customers)
    assert any(c.birthday_kind == "lunar" and c.birth_month for c in customers)
    assert len({c.city for c in customers}) >= 5 and all(c.city_tier for c in customers)
    assert len({c.source for c in customers}) >= 5
    tags = Counter(t.name for c in customers for t in c.tags.all())
    assert {"VIP", "敏感肌", "老带新"} <= set(tags)
    referred = [c for c in customers if c.referrer_id]
    assert referred and all(c.referrer_id < c.pk for c in referred)
    children = FamilyMember.objects.filter(relation="child")
    assert children.exists() and all(ch.birth_month and ch.birth_day for ch in children)

    spec = {f["key"]: f for f in INDUSTRY_TEMPLATES["beauty"]}
    filled = [c.custom for c in customers if c.custom]
    assert 0.25 * N <= len(filled) <= 0.65 * N
    for custom in filled:
        for key, value in custom.items():
            kind = spec[key].get("type", "text")
            if kind == "choice":
                assert value in spec[key]["choices"]
            elif kind == "multi":
                assert value and set(value) <= set(spec[key]["choices"])
            else:
                assert isinstance(value, str) and value


def test_demo_customers_have_their_pinyin_keys(demo: DemoSummary) -> None:
    # The demo's bulk row writer bypasses Customer.save(): it must write the search keys itself.
    rows = list(Customer.objects.values_list("name", "name_pinyin", "name_initials"))
    assert rows and all((p, i) == name_keys(n) and p for n, p, i in rows)
