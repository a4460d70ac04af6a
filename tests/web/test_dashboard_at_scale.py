"""What keeps the dashboard and the pinyin search flat at 100k customers stays correct.

The dashboard's lists and counts now read the analytics table by its own organisation (and,
for an owner, without a join), the "due" list orders by the purchase date, the pinyin search
compares ranges on SQLite, and SQLite gets planner statistics (core.planner). Each is checked
here against the plain definition computed in the test; bench/web_latency.py measures speed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from lunar_python import Solar
from tests.helpers import make_customer, make_order, make_product

from huitouke.analytics import queries
from huitouke.analytics.jobs import local_today, refresh_organisation
from huitouke.analytics.models import CustomerAnalytics, CustomerDue
from huitouke.core.occasions import next_birthday
from huitouke.core.planner import refresh_planner_statistics
from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.models import Customer
from huitouke.customers.queries import search_customers

pytestmark = pytest.mark.django_db


def _shop(org, store1, owner, staff_a):
    """Six buyers at different distances from their last order, two of them staff_a's."""
    now = timezone.now()
    product = make_product(org, name="面霜", price="300.00")
    people = []
    for i, days in enumerate([3, 20, 45, 80, 150, 400]):
        customer = make_customer(
            org, name=f"客户{i}", home_store=store1, owner=staff_a if i < 2 else None
        )
        for back in (days + 60, days):
            make_order(customer, store1, product=product, placed_at=now - timedelta(days=back))
        people.append(customer)
    make_customer(org, name="潜客", home_store=store1)
    refresh_organisation(org, local_today(org))
    return people


def _funnel_by_definition(user) -> dict[str, int]:
    """Lifecycle counts over the customers the user sees, joined the plain way."""
    seen = Customer.objects.visible_to(user).values_list("pk", flat=True)
    counts: dict[str, int] = {}
    for row in CustomerAnalytics.objects.filter(customer_id__in=list(seen)):
        counts[row.lifecycle] = counts.get(row.lifecycle, 0) + 1
    return counts


def _funnel(user, live: bool = False) -> dict[str, int]:
    funnel = queries.lifecycle_funnel(user, live=live)
    return {s["code"]: s["count"] for s in funnel["stages"] if s["count"]}


def test_the_owners_live_funnel_without_a_join_still_leaves_a_merged_customer_out(
    org, store1, owner, staff_a
) -> None:
    people = _shop(org, store1, owner, staff_a)
    assert _funnel(owner, live=True) == _funnel_by_definition(owner)
    assert sum(_funnel(owner, live=True).values()) == 7  # the six buyers and the potential one
    assert _funnel(staff_a, live=True) == _funnel_by_definition(staff_a)
    do_merge_customers(keep=people[0], duplicate=people[5], actor=owner)
    # The duplicate's results went with the merge (analytics.hooks), before any refresh.
    assert not CustomerAnalytics.objects.filter(customer=people[5]).exists()
    assert not CustomerDue.objects.filter(customer=people[5]).exists()
    assert _funnel(owner, live=True) == _funnel_by_definition(owner)
    assert sum(_funnel(owner, live=True).values()) == 6
    # The stored funnel is the refresh's: the merged customer counts until the next one.
    assert sum(_funnel(owner).values()) == 7
    refresh_organisation(org, local_today(org))
    assert _funnel(owner) == _funnel_by_definition(owner)


def test_the_stored_funnel_counts_what_each_viewer_counts_live(
    org, store1, store2, owner, staff_a, manager
) -> None:
    """Owner, a store manager (her store's customers plus one she owns homed elsewhere) and a
    salesperson: the funnel read from the refresh's report equals the plain count, stage by
    stage and in the reactivated number."""
    _shop(org, store1, owner, staff_a)
    far = make_customer(org, name="外店", home_store=store2, owner=manager)
    make_order(far, store2, placed_at=timezone.now() - timedelta(days=30))
    make_customer(org, name="别店", home_store=store2)
    refresh_organisation(org, local_today(org))
    for viewer in (owner, manager, staff_a):
        stored = queries.lifecycle_funnel(viewer)
        live = queries.lifecycle_funnel(viewer, live=True)
        assert _funnel(viewer) == _funnel_by_definition(viewer), viewer
        assert stored == live, viewer
    assert sum(_funnel(manager).values()) == sum(_funnel(owner).values()) - 1  # not 别店


def test_due_this_week_is_still_most_overdue_first(org, store1, owner, staff_a) -> None:
    _shop(org, store1, owner, staff_a)
    rows = list(queries.due_this_week(owner, limit=50))
    expected = sorted(
        CustomerDue.objects.filter(organisation=org),
        # most overdue first: the most days from the purchase to the refresh's date
        key=lambda r: (
            not r.due_now,
            -(local_today(org) - r.last_purchase_date).days,
            r.customer_id,
        ),
    )
    assert [(r.customer_id, r.category_id) for r in rows] == [
        (r.customer_id, r.category_id) for r in expected
    ]


@pytest.mark.parametrize(
    "typed",
    ["z", "zh", "zhang", "zhangliz", "zlm", "zl", "zz", "wang", "wangy", "a", "an", "annaz", "x9"],
)
def test_pinyin_prefixes_find_exactly_the_names_that_start_so(org, owner, typed) -> None:
    """On SQLite the prefix is a range (key ≤ k < key with its last letter + 1); the answer
    must be exactly Python's startswith over both keys, also for keys ending in z or a digit."""
    for name in [
        "张莉梅",
        "张莉",
        "张力真",
        "赵磊明",
        "王艳",
        "王芳",
        "Anna",
        "Annaz",
        "庄子",
        "X9 店",
    ]:
        make_customer(org, name=name)
    found = set(search_customers(owner, typed).values_list("name", flat=True))
    typed_key = typed.replace(" ", "").lower()
    expected = {
        c.name
        for c in Customer.objects.filter(organisation=org)
        if c.name_pinyin.startswith(typed_key) or c.name_initials.startswith(typed_key)
    }
    assert expected  # each typed prefix is someone's
    assert found == expected


def test_the_planner_learns_the_tables_on_sqlite_only(org) -> None:
    for i in range(5):
        make_customer(org, name=f"统计{i}")
    done = refresh_planner_statistics()
    assert done is (connection.vendor == "sqlite")
    if done:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'customers_customer'"
                " AND idx = 'customer_org_pinyin'"
            )
            row = cursor.fetchone()
        assert row is not None and row[0].startswith("5 ")


def test_birthdays_this_week_reads_only_the_first_ones_and_keeps_their_order(org, owner) -> None:
    """The list reads `limit` customers in date order; the answer is the brute force over every
    customer: each one's next celebration (core.occasions) within the week, by date then id."""
    today = local_today(org)
    for offset in range(-2, 10):
        day = today + timedelta(days=offset)
        for n in range(3):
            make_customer(org, name=f"阳{offset}-{n}", birth_month=day.month, birth_day=day.day)
    lunar = Solar.fromYmd(today.year, today.month, today.day).getLunar().next(2)
    for n in range(2):
        make_customer(
            org,
            name=f"农{n}",
            birthday_kind="lunar",
            birth_month=abs(lunar.getMonth()),
            birth_day=lunar.getDay(),
            birth_leap_month=lunar.getMonth() < 0,
        )
    # An impossible date stored by an older version (the forms refuse it now): never celebrated.
    impossible = make_customer(org, name="不可能")
    Customer.objects.filter(pk=impossible.pk).update(birth_month=2, birth_day=30)
    brute = []
    for c in Customer.objects.filter(organisation=org, birth_month__isnull=False):
        try:
            when = next_birthday(
                c.birthday_kind, c.birth_month, c.birth_day, c.birth_leap_month, today
            )
        except ValueError:
            continue
        if when <= today + timedelta(days=6):
            brute.append((when, c.pk))
    brute.sort()
    for limit in (5, 20, 100):
        got = queries.birthdays_this_week(owner, today, limit=limit)
        assert [(when, c.pk) for when, c in got] == brute[:limit]
    assert len(brute) == 3 * 7 + 2


def test_never_bought_counts_the_same_for_the_owner_without_the_join(
    client, org, store1, owner, staff_a
) -> None:
    """The owner's 潜客 figure is two index-only counts (stats with no order, less the merged
    customers among them); it must equal the plain count, also after merges of a customer who
    never bought and of one who did (whose stats then say 0)."""
    people = _shop(org, store1, owner, staff_a)
    never = make_customer(org, name="没买过", home_store=store1)
    make_customer(org, name="也没买过", home_store=store1, owner=staff_a)
    do_merge_customers(keep=people[1], duplicate=never, actor=owner)
    do_merge_customers(keep=people[0], duplicate=people[2], actor=owner)

    def plain(user) -> int:
        return sum(
            1
            for c in Customer.objects.visible_to(user).select_related("stats")
            if c.stats.orders_count == 0
        )

    for user in (owner, staff_a):
        client.force_login(user)
        shown = client.get("/").context["potential"]
        assert shown == plain(user), user
    assert plain(owner) == 2  # 潜客 and 也没买过; the two merged-away customers not
