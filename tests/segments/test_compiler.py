"""The segment compiler against a plain-Python reference filter, on hand-built and random segments."""

from __future__ import annotations

import random
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.helpers import make_customer, make_order, make_product

from huitouke.accounts.scoping import ALL
from huitouke.analytics.models import CustomerAnalytics
from huitouke.customers.models import Customer, CustomField
from huitouke.sales.models import Category, OrderStatus
from huitouke.segments.compiler import SegmentError, segment_customers

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 6, 30)
TAGS = ["VIP", "敏感肌", "学生"]
LIFECYCLES = ["new", "active", "silent", "churned"]
SEGMENTS = ["champions", "lost", "new_promising"]


@pytest.fixture
def population(org, store1, store2, staff_a, staff_b):
    """About 30 customers with varied stats, analytics, tags, birthdays and purchases."""
    rng = random.Random(5)
    cats = [Category.objects.create(organisation=org, name=f"品类{i}") for i in range(3)]
    products = [make_product(org, name=f"商品{i}", category=cats[i % 3]) for i in range(4)]
    CustomField.objects.create(
        organisation=org, key="skin", label="肤质", type="choice", choices=["干性", "油性"]
    )
    CustomField.objects.create(organisation=org, key="height", label="身高", type="number")
    for i in range(30):
        c = make_customer(
            org,
            name=rng.choice(["陈静", "王芳", "李娜", "张伟"]) + str(i),
            city=rng.choice(["杭州", "上海", ""]),
            city_tier=rng.choice([None, 1, 2, 3]),
            birth_year=rng.choice([None, 1980, 1990, 1996, 2001]),
            birth_month=(month := rng.choice([None, 1, 6, 12])),
            birth_day=None if month is None else 1,
            gender=rng.choice(["f", "m", ""]),
            source=rng.choice(["walk_in", "wechat", "referral"]),
            consent_sms=rng.random() < 0.7,
            owner=rng.choice([staff_a, staff_b, None]),
            home_store=rng.choice([store1, store2]),
            tags=rng.sample(TAGS, rng.randint(0, 2)),
            custom={
                k: v
                for k, v in (
                    ("skin", rng.choice(["干性", "油性", None])),
                    ("height", rng.choice([155, 162, 170, None])),
                )
                if v is not None
            },
        )
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            days_ago = rng.randint(0, 400)
            placed = datetime.combine(
                AS_OF - timedelta(days=days_ago), time(rng.choice([0, 9, 23]), 30), tzinfo=TZ
            )
            make_order(
                c,
                store1,
                product=rng.choice(products),
                placed_at=placed,
                unit_price=str(rng.choice([50, 120, 999])),
            )
        if rng.random() < 0.8:
            CustomerAnalytics.objects.create(
                customer=c,
                organisation=org,
                as_of=AS_OF,
                lifecycle=rng.choice(LIFECYCLES),
                reactivated=rng.random() < 0.2,
                rfm_segment=rng.choice([*SEGMENTS, ""]),
                r_score=rng.choice([None, 1, 3, 5]),
                value_class=rng.choice(["A", "B", "C", "D"]),
                p_alive=rng.choice([None, 0.1, 0.5, 0.9]),
            )
    return {
        "categories": [c.pk for c in cats],
        "products": [p.pk for p in products],
        "staff": [staff_a.pk, staff_b.pk],
        "stores": [store1.pk, store2.pk],
    }


# --- the reference: plain Python over plain dicts --------------------------------------------------


def snapshot(org):
    rows = {}
    for c in (
        Customer.objects.filter(organisation=org)
        .select_related("stats")
        .prefetch_related("tags", "orders__lines")
    ):
        a = CustomerAnalytics.objects.filter(customer=c).first()
        purchases = [
            (line.category_id, line.product_id, o.placed_at.astimezone(TZ).date())
            for o in c.orders.all()
            if o.status == OrderStatus.PAID
            for line in o.lines.all()
        ]
        last = c.stats.last_order_at
        rows[c.pk] = {
            "lifecycle": a.lifecycle if a else None,
            "reactivated": a.reactivated if a else None,
            "rfm_segment": (a.rfm_segment if a else None),
            "r_score": a.r_score if a else None,
            "value_class": a.value_class if a else None,
            "p_alive": a.p_alive if a else None,
            "days_since_last_order": (AS_OF - last.astimezone(TZ).date()).days if last else None,
            "orders_count": c.stats.orders_count,
            "net_spend": c.stats.net_spend,
            "last_order_date": last.astimezone(TZ).date() if last else None,
            "tags": {t.name for t in c.tags.all()},
            "purchases": purchases,
            "city": c.city,
            "city_tier": c.city_tier,
            "age": AS_OF.year - c.birth_year if c.birth_year else None,
            "birthday_month": c.birth_month,
            "gender": c.gender,
            "source": c.source,
            "consent_sms": c.consent_sms,
            "owner": c.owner_id,
            "store": c.home_store_id,
            "custom.skin": c.custom.get("skin"),
            "custom.height": c.custom.get("height"),
        }
    return rows


NEGATIVE = {"ne", "not_in", "none", "not_bought"}


def ref_condition(row, cond):
    field, op, value = cond["field"], cond["op"], cond.get("value")
    if field == "tags":
        hit = {
            "any": bool(row["tags"] & set(value)),
            "all": set(value) <= row["tags"],
            "none": not (row["tags"] & set(value)),
        }
        return hit[op]
    if field in ("bought_category", "bought_product"):
        idx = 0 if field == "bought_category" else 1
        window = value.get("within_days")
        hit = any(
            p[idx] in value["ids"]
            and p[2] <= AS_OF
            and (window is None or (AS_OF - p[2]).days < window)
            for p in row["purchases"]
        )
        return hit if op == "bought" else not hit
    if field == "last_order_at":
        v = row["last_order_date"]
        if op == "within_last_days":
            return v is not None and 0 <= (AS_OF - v).days < value
        d = date.fromisoformat(value) if isinstance(value, str) else None
        if v is None:
            return False
        return v < d if op == "before" else v > d
    v = row[field]
    if op == "is_empty":
        return v is None or v == ""
    if op == "is_not_empty":
        return not (v is None or v == "")
    if v is None:
        return op in NEGATIVE
    if op == "in":
        return v in value
    if op == "not_in":
        return v not in value
    if op == "is":
        return v is value
    if op in ("contains", "startswith"):
        return (
            (value.lower() in v.lower())
            if op == "contains"
            else v.lower().startswith(value.lower())
        )
    num = lambda x: Decimal(str(x))  # noqa: E731
    if op == "between":
        return num(value[0]) <= num(v) <= num(value[1])
    a, b = (num(v), num(value)) if not isinstance(v, str) else (v, value)
    return {"eq": a == b, "ne": a != b, "gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def ref_group(row, group):
    results = [
        ref_group(row, c) if "conditions" in c else ref_condition(row, c)
        for c in group["conditions"]
    ]
    return all(results) if group.get("match", "all") == "all" else any(results)


def check(org, definition, rows):
    got = set(segment_customers(definition, org, AS_OF, scope=ALL).values_list("pk", flat=True))
    want = {pk for pk, row in rows.items() if ref_group(row, definition)}
    assert got == want, definition


# --- hand-written cases ------------------------------------------------------------------------------

HAND = [
    {"field": "lifecycle", "op": "in", "value": ["silent", "churned"]},
    {"field": "lifecycle", "op": "not_in", "value": ["new"]},
    {"field": "reactivated", "op": "is", "value": True},
    {"field": "r_score", "op": "gte", "value": 3},
    {"field": "p_alive", "op": "lt", "value": 0.5},
    {"field": "p_alive", "op": "is_empty"},
    {"field": "days_since_last_order", "op": "gt", "value": 90},
    {"field": "days_since_last_order", "op": "between", "value": [0, 30]},
    {"field": "days_since_last_order", "op": "eq", "value": 0},
    {"field": "orders_count", "op": "eq", "value": 0},
    {"field": "net_spend", "op": "gte", "value": "999"},
    {"field": "tags", "op": "any", "value": ["VIP", "学生"]},
    {"field": "tags", "op": "all", "value": ["VIP", "敏感肌"]},
    {"field": "tags", "op": "none", "value": ["VIP"]},
    {"field": "city", "op": "eq", "value": "杭州"},
    {"field": "city", "op": "is_empty"},
    {"field": "city_tier", "op": "lte", "value": 2},
    {"field": "age", "op": "between", "value": [25, 40]},
    {"field": "birthday_month", "op": "eq", "value": 6},
    {"field": "gender", "op": "in", "value": ["f"]},
    {"field": "consent_sms", "op": "is", "value": False},
    {"field": "last_order_at", "op": "within_last_days", "value": 30},
    {"field": "last_order_at", "op": "before", "value": "2026-01-01"},
    {"field": "custom.skin", "op": "in", "value": ["干性"]},
    {"field": "custom.height", "op": "gt", "value": 160},
    {"field": "custom.height", "op": "is_empty"},
]


def test_each_field_and_operator(org, population):
    rows = snapshot(org)
    for cond in HAND:
        check(org, {"version": 1, "match": "all", "conditions": [cond]}, rows)
    for cond in [
        {"field": "owner", "op": "in", "value": population["staff"][:1]},
        {"field": "store", "op": "not_in", "value": population["stores"][:1]},
        {
            "field": "bought_category",
            "op": "bought",
            "value": {"ids": population["categories"][:2]},
        },
        {
            "field": "bought_category",
            "op": "bought",
            "value": {"ids": population["categories"][:1], "within_days": 90},
        },
        {
            "field": "bought_product",
            "op": "not_bought",
            "value": {"ids": population["products"][:1]},
        },
    ]:
        check(org, {"version": 1, "match": "all", "conditions": [cond]}, rows)
    definition = {
        "version": 1,
        "match": "any",
        "conditions": [
            {
                "match": "all",
                "conditions": [
                    {"field": "lifecycle", "op": "in", "value": ["silent"]},
                    {"field": "net_spend", "op": "gte", "value": 100},
                ],
            },
            {"field": "tags", "op": "any", "value": ["VIP"]},
        ],
    }
    check(org, definition, rows)
    assert (
        segment_customers(
            {"version": 1, "match": "all", "conditions": []}, org, AS_OF, scope=ALL
        ).count()
        == 30
    )


# --- random segments -----------------------------------------------------------------------------------

leaf = st.one_of(
    st.builds(
        lambda v: {"field": "lifecycle", "op": "in", "value": v},
        st.lists(st.sampled_from(LIFECYCLES), min_size=1, max_size=2),
    ),
    st.builds(
        lambda v: {"field": "rfm_segment", "op": "not_in", "value": v},
        st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=2),
    ),
    st.builds(
        lambda op, n: {"field": "days_since_last_order", "op": op, "value": n},
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.integers(0, 400),
    ),
    st.builds(
        lambda op, n: {"field": "orders_count", "op": op, "value": n},
        st.sampled_from(["eq", "ne", "gt", "lte"]),
        st.integers(0, 4),
    ),
    st.builds(
        lambda op, n: {"field": "net_spend", "op": op, "value": n},
        st.sampled_from(["gt", "lt", "eq"]),
        st.sampled_from([0, 50, 120, 999, 1500]),
    ),
    st.builds(
        lambda op, v: {"field": "tags", "op": op, "value": v},
        st.sampled_from(["any", "all", "none"]),
        st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        lambda op, n: {"field": "age", "op": op, "value": n},
        st.sampled_from(["gt", "lte", "eq", "ne"]),
        st.integers(20, 50),
    ),
    st.builds(lambda v: {"field": "consent_sms", "op": "is", "value": v}, st.booleans()),
    st.builds(
        lambda n: {"field": "last_order_at", "op": "within_last_days", "value": n},
        st.integers(1, 365),
    ),
)
definitions = st.recursive(
    leaf,
    lambda children: st.builds(
        lambda m, cs: {"match": m, "conditions": cs},
        st.sampled_from(["all", "any"]),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=6,
).map(
    lambda node: (
        {"version": 1, **node}
        if "conditions" in node
        else {"version": 1, "match": "all", "conditions": [node]}
    )
)


def test_random_segments_match_the_reference(org, population):
    rows = snapshot(org)

    @settings(
        max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(definition=definitions)
    # Issue 13: negation on a value a customer may lack (no analytics row) must keep her.
    @example(
        definition={
            "version": 1,
            "match": "all",
            "conditions": [
                {"field": "rfm_segment", "op": "not_in", "value": ["champions"]},
                {
                    "match": "any",
                    "conditions": [
                        {"field": "lifecycle", "op": "in", "value": ["silent"]},
                        {"field": "tags", "op": "none", "value": ["VIP"]},
                    ],
                },
            ],
        }
    )
    @example(
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "rfm_segment", "op": "not_in", "value": ["champions"]}],
        }
    )
    def run(definition):
        check(org, definition, rows)

    run()


# --- validation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "path", "fragment"),
    [
        (
            {"version": 1, "conditions": [{"field": "shoe", "op": "eq", "value": 1}]},
            "conditions[0].field",
            "shoe",
        ),
        (
            {"version": 1, "conditions": [{"field": "orders_count", "op": "contains", "value": 1}]},
            "conditions[0].op",
            "contains",
        ),
        (
            {"version": 1, "conditions": [{"field": "orders_count", "op": "gt", "value": "many"}]},
            "conditions[0].value",
            "many",
        ),
        (
            {"version": 1, "conditions": [{"field": "lifecycle", "op": "in", "value": ["sleepy"]}]},
            "conditions[0].value",
            "sleepy",
        ),
        (
            {
                "version": 1,
                "conditions": [{"field": "orders_count", "op": "between", "value": [5, 1]}],
            },
            "conditions[0].value",
            "between",
        ),
        ({"version": 2, "conditions": []}, "version", "2"),
        ({"version": 1, "match": "some", "conditions": []}, "match", "some"),
    ],
)
def test_invalid_definitions_name_the_problem(org, definition, path, fragment):
    with pytest.raises(SegmentError) as err:
        segment_customers(definition, org, AS_OF, scope=ALL)
    assert any(p == path and fragment in m for p, m in err.value.errors), err.value.errors


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        ({"version": 1, "conditions": [{"field": "city", "op": "eq", "value": "a\x00b"}]}, "NUL"),
        (
            {"version": 1, "conditions": [{"field": "city", "op": "eq", "value": "\ud83d"}]},
            "Unicode",
        ),
        ({"version": 1, "conditions": [], "extra": 1}, "extra"),
        ({"version": 1, "conditions": [{"field": "city", "op": "eq", "value": "x", "d": 2}]}, "d"),
    ],
)
def test_text_the_database_cannot_store_and_unknown_keys_are_refused(org, definition, fragment):
    with pytest.raises(SegmentError) as err:
        segment_customers(definition, org, AS_OF, scope=ALL)
    assert any(fragment in m for _p, m in err.value.errors), err.value.errors
