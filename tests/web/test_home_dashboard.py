"""The home dashboard's trends: the kind of shop this quarter (seed 002), new vs returning
customers by month and the 12-month repurchase rate beside the trade's typical one (seed 001).

Each expected number is recomputed here in plain Python over the orders in the database,
following docs/definitions.md ("Home dashboard"), not with the code under test.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from tests.helpers import make_customer, make_order, make_product

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import Report, ReportKind
from huitouke.analytics.queries import stage_title
from huitouke.customers.models import Customer
from huitouke.followups.models import FollowUpTask
from huitouke.sales.models import Order, OrderStatus

TZ = ZoneInfo("Asia/Shanghai")


def _today() -> dt.date:
    return dt.datetime.now(TZ).date()


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _periods(today: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """docs/definitions.md: this quarter to date, or the last whole quarter when fewer than 30
    days of this one have passed; and the same dates a year before (29 Feb → 28 Feb)."""
    start = _quarter_start(today)
    end = today
    if (today - start).days < 29:
        end = start - dt.timedelta(days=1)
        start = _quarter_start(end)

    def back(d: dt.date) -> dt.date:
        return d.replace(year=d.year - 1, day=min(d.day, 28) if d.month == 2 else d.day)

    return (start, end), (back(start), back(end))


def _at(day: dt.date, hour: int = 11) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


def _day_in(period: tuple[dt.date, dt.date], i: int, today: dt.date) -> dt.date:
    # Spread over the period, never today (an order's time may not be in the future).
    last = min(period[1], today - dt.timedelta(days=1))
    span = (last - period[0]).days + 1
    return period[0] + dt.timedelta(days=i % span)


def _seed(org: Any, store: Any, plan: dict[str, int]) -> None:
    """New and returning buyers of this quarter and of the same dates a year before.

    Returning buyers have a first order 40 days before last year's period; new buyers order only
    inside their period.
    """
    today = _today()
    current, last_year = _periods(today)
    product = make_product(org, price="100.00")
    history = last_year[0] - dt.timedelta(days=40)
    pool = max(plan["returning_now"], plan["returning_before"])
    regulars = [make_customer(org, name=f"老客{i}") for i in range(pool)]
    for c in regulars:
        make_order(c, store, product=product, placed_at=_at(history))
    for i, c in enumerate(regulars[: plan["returning_before"]]):
        make_order(
            c, store, product=product, unit_price="120", placed_at=_at(_day_in(last_year, i, today))
        )
    for i, c in enumerate(regulars[: plan["returning_now"]]):
        make_order(
            c, store, product=product, unit_price="150", placed_at=_at(_day_in(current, i, today))
        )
    for i in range(plan["new_before"]):
        c = make_customer(org, name=f"去年新客{i}")
        make_order(
            c, store, product=product, unit_price="80", placed_at=_at(_day_in(last_year, i, today))
        )
    for i in range(plan["new_now"]):
        c = make_customer(org, name=f"新客{i}")
        make_order(
            c, store, product=product, unit_price="90", placed_at=_at(_day_in(current, i, today))
        )
        if i % 3 == 0:  # a second visit in the quarter: a repeat buyer of the last 12 months
            make_order(
                c,
                store,
                product=product,
                unit_price="50",
                placed_at=_at(_day_in(current, i + 1, today), 15),
            )


def _orders(org: Any) -> list[tuple[int, dt.date, Decimal]]:
    rows = Order.objects.filter(organisation=org, status=OrderStatus.PAID, customer__isnull=False)
    return [(o.customer_id, o.placed_at.astimezone(TZ).date(), o.net_paid) for o in rows]


def _expected_split(
    orders: list[tuple[int, dt.date, Decimal]], start: dt.date, end: dt.date
) -> tuple[int, int]:
    first: dict[int, dt.date] = {}
    for cid, day, _net in orders:
        first[cid] = min(first.get(cid, day), day)
    buyers = {cid for cid, day, _net in orders if start <= day <= end}
    returning = sum(1 for cid in buyers if first[cid] < start)
    return len(buyers) - returning, returning


def _expected_verdict(orders: list[tuple[int, dt.date, Decimal]]) -> str:
    (s, e), (ls, le) = _periods(_today())
    new, ret = _expected_split(orders, s, e)
    new_ly, ret_ly = _expected_split(orders, ls, le)
    if new + ret < 20 or new_ly + ret_ly < 20:
        return "too_little_data"
    if new > new_ly and ret > ret_ly:
        return "healthy"
    if new > new_ly:
        return "returning_weak"
    if ret / (new + ret) > 0.5:
        return "new_weak"
    return "declining"


def _page(client: Any, user: Any, lang: str = "zh-hans") -> str:
    client.force_login(user)
    client.cookies["django_language"] = lang
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


SOURCES = ["live", "report"]


def _serve(org: Any, source: str) -> None:
    """ "report": the nightly refresh has stored the trends the page then reads; "live": none."""
    if source == "report":
        run = refresh_organisation(org, _today())
        assert run is not None and not run.detail["report_errors"], run and run.detail
        assert Report.objects.filter(organisation=org, kind=ReportKind.TRENDS).exists()
    else:
        Report.objects.filter(organisation=org, kind=ReportKind.TRENDS).delete()


def _check_source(page: str, source: str) -> None:
    as_of = page.split('data-testid="trends-as-of">')[1].split("</p>")[0]
    if source == "report":
        assert "截至" in as_of and "最近一次分析刷新" in as_of, as_of
    else:
        assert as_of == "最后一个月截至今天。", as_of


def _embedded(page: str, element_id: str) -> Any:
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, element_id
    return json.loads(html.unescape(found.group(1)))


KINDS = {
    # 老客没做好: new customers up, returning customers down.
    "returning_weak": {
        "new_before": 12,
        "returning_before": 20,
        "new_now": 22,
        "returning_now": 12,
    },
    # 吸血型: returning customers over half of the buyers, new customers not up.
    "new_weak": {"new_before": 15, "returning_before": 15, "new_now": 10, "returning_now": 24},
    # 健康: both up year over year.
    "healthy": {"new_before": 12, "returning_before": 12, "new_now": 18, "returning_now": 16},
}


@pytest.mark.django_db
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_the_dashboard_says_which_kind_of_shop_this_is(client, org, store1, owner, kind, source):
    _seed(org, store1, KINDS[kind])
    orders = _orders(org)
    expected = _expected_verdict(orders)
    assert expected == kind  # the seeded shop really is of this kind, by the written rule
    _serve(org, source)
    page = _page(client, owner)
    _check_source(page, source)
    assert f'data-testid="shop-verdict" data-verdict="{kind}"' in page
    titles = {
        "healthy": "健康",
        "returning_weak": "老客没做好",
        "new_weak": "吸血型",
    }
    verdict = page.split('data-testid="shop-verdict"')[1].split("</section>")[0]
    assert titles[kind] in verdict
    (s, e), _last_year = _periods(_today())
    new, ret = _expected_split(orders, s, e)
    assert re.search(rf'data-testid="verdict-new">{new}<', verdict), verdict
    assert re.search(rf'data-testid="verdict-returning">{ret}<', verdict)
    # The two trend lines behind it: new and returning buyers per month.
    data = _embedded(page, "trends-data")
    first: dict[int, dt.date] = {}
    for cid, day, _net in orders:
        first[cid] = min(first.get(cid, day), day)
    for label, n_new, n_ret in zip(
        data["trend_months"], data["trend_new"], data["trend_returning"], strict=True
    ):
        year, month = map(int, label.split("-"))
        start = dt.date(year, month, 1)
        buyers = {cid for cid, day, _n in orders if (day.year, day.month) == (year, month)}
        assert n_ret == sum(1 for cid in buyers if first[cid] < start), label
        assert n_new == len(buyers) - n_ret, label


@pytest.mark.django_db
@pytest.mark.parametrize("source", SOURCES)
def test_monthly_revenue_and_buyers_and_the_repurchase_reference(
    client, org, store1, owner, source
):
    org.industry = "cosmetics"
    org.save()
    _seed(org, store1, KINDS["healthy"])
    walk_in = make_product(org, name="散客商品")
    make_order(None, store1, product=walk_in, placed_at=_at(_today() - dt.timedelta(days=2)))
    orders = _orders(org)
    _serve(org, source)
    page = _page(client, owner)
    _check_source(page, source)
    data = _embedded(page, "trends-data")
    assert len(data["months"]) == 12
    first: dict[int, dt.date] = {}
    for cid, day, _net in orders:
        first[cid] = min(first.get(cid, day), day)
    for i, label in enumerate(data["months"]):
        year, month = map(int, label.split("-"))
        start = dt.date(year, month, 1)
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        buyers: dict[str, set[int]] = defaultdict(set)
        for cid, day, net in orders:
            if (day.year, day.month) == (year, month):
                kind = "returning" if first[cid] < start else "new"
                revenue[kind] += net
                buyers[kind].add(cid)
        assert data["new_revenue"][i] == pytest.approx(float(revenue["new"])), label
        assert data["returning_revenue"][i] == pytest.approx(float(revenue["returning"])), label
        assert data["new_buyers"][i] == len(buyers["new"]), label
        assert data["returning_buyers"][i] == len(buyers["returning"]), label
    # Some month holds both kinds: the chart is not trivially empty.
    assert sum(data["new_buyers"]) > 0 and sum(data["returning_buyers"]) > 0
    # 12-month repurchase rate: buyers of the last 365 days with two orders or more.
    today = _today()
    counts: dict[int, int] = defaultdict(int)
    for cid, day, _net in orders:
        if today - dt.timedelta(days=364) <= day <= today:
            counts[cid] += 1
    rate = sum(1 for n in counts.values() if n >= 2) / len(counts)
    card = page.split('data-testid="repurchase-reference"')[1].split("</section>")[0]
    assert f'data-testid="repurchase-rate">{rate * 100:.1f}%<' in card
    assert "25%–30%" in card and "参考" in card  # cosmetics, labelled as a reference


def _check_months(
    data: dict[str, Any], orders: list[tuple[int, dt.date, Decimal]], first: dict[int, dt.date]
) -> None:
    """Every month's new/returning buyers and revenue against a plain recount of `orders`;
    `first`: each customer's first order date in the whole shop."""
    for i, label in enumerate(data["months"]):
        year, month = map(int, label.split("-"))
        start = dt.date(year, month, 1)
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        buyers: dict[str, set[int]] = defaultdict(set)
        for cid, day, net in orders:
            if (day.year, day.month) == (year, month):
                kind = "returning" if first[cid] < start else "new"
                revenue[kind] += net
                buyers[kind].add(cid)
        assert data["new_revenue"][i] == pytest.approx(float(revenue["new"])), label
        assert data["returning_revenue"][i] == pytest.approx(float(revenue["returning"])), label
        assert data["new_buyers"][i] == len(buyers["new"]), label
        assert data["returning_buyers"][i] == len(buyers["returning"]), label


@pytest.mark.django_db
@pytest.mark.parametrize("source", SOURCES)
def test_a_manager_sees_her_store_and_staff_her_own_customers(
    client, org, store1, store2, owner, manager, staff_a, source
):
    _seed(org, store1, KINDS["healthy"])
    Customer.objects.filter(organisation=org).update(home_store=store1)
    _seed(org, store2, KINDS["new_weak"])
    Customer.objects.filter(organisation=org, home_store__isnull=True).update(home_store=store2)
    mine = list(Customer.objects.filter(organisation=org).order_by("pk")[::4])
    Customer.objects.filter(pk__in=[c.pk for c in mine]).update(owner=staff_a)
    # A partly refunded order: revenue is Σ net_paid, refunds aside (docs/definitions.md).
    partly = Order.objects.filter(organisation=org, store=store2).order_by("-placed_at").first()
    assert partly is not None
    Order.objects.filter(pk=partly.pk).update(refunded_amount=Decimal("10.00"), staff=staff_a)
    # The manager owns a few customers homed in the other store (accounts.scoping: she sees
    # them and their orders there); and she sold one order there to a customer who is neither
    # hers nor her store's, which she does not see.
    (s, e), _ly = _periods(_today())
    away = list(
        Customer.objects.filter(
            organisation=org, home_store=store2, orders__placed_at__gte=_at(s, 0)
        )
        .exclude(owner=staff_a)
        .distinct()
        .order_by("pk")
    )
    homed_away, not_hers = away[:5], away[5]
    Customer.objects.filter(pk__in=[c.pk for c in homed_away]).update(owner=manager)
    Order.objects.filter(customer=not_hers).update(staff=manager)
    _serve(org, source)
    rows = Order.objects.filter(
        organisation=org, status=OrderStatus.PAID, customer__isnull=False
    ).select_related("customer")
    everyone = [(o.customer_id, o.placed_at.astimezone(TZ).date(), o.net_paid) for o in rows]
    seen = {
        manager: [
            (o.customer_id, o.placed_at.astimezone(TZ).date(), o.net_paid)
            for o in rows
            if o.store_id == store1.pk
            or o.customer.home_store_id == store1.pk
            or o.customer.owner_id == manager.pk
        ],
        staff_a: [
            (o.customer_id, o.placed_at.astimezone(TZ).date(), o.net_paid)
            for o in rows
            if o.customer.owner_id == staff_a.pk or o.staff_id == staff_a.pk
        ],
        owner: everyone,
    }
    first: dict[int, dt.date] = {}
    for cid, day, _net in everyone:  # returning: first order anywhere in the shop
        first[cid] = min(first.get(cid, day), day)
    counts = {}
    for user, orders in seen.items():
        page = _page(client, user)
        _check_source(page, source)
        data = _embedded(page, "trends-data")
        visible_first = {cid: first[cid] for cid, _d, _n in orders}
        buyers = {cid for cid, day, _n in orders if s <= day <= e}
        ret = sum(1 for cid in buyers if visible_first[cid] < s)
        verdict = page.split('data-testid="shop-verdict"')[1].split("</section>")[0]
        assert re.search(rf'data-testid="verdict-new">{len(buyers) - ret}<', verdict), user
        assert re.search(rf'data-testid="verdict-returning">{ret}<', verdict), user
        _check_months(data, orders, first)
        counts[user.username] = (sum(data["new_buyers"]), sum(data["returning_buyers"]))
    assert len(set(counts.values())) == 3, counts  # three different scopes, three answers
    # Her customers homed in the other store are in her numbers: they are not the store's alone.
    store_only = [
        (o.customer_id, o.placed_at.astimezone(TZ).date(), o.net_paid)
        for o in rows
        if o.store_id == store1.pk or o.customer.home_store_id == store1.pk
    ]
    in_quarter = {cid for cid, day, _n in store_only if s <= day <= e}
    assert {c.pk for c in homed_away} - in_quarter == {c.pk for c in homed_away}
    assert not_hers.pk not in {cid for cid, _d, _n in seen[manager]}


@pytest.mark.django_db
def test_a_small_shop_gets_no_verdict_and_english_lifecycle_labels_are_words(
    client, org, store1, owner
):
    c = make_customer(org, name="<img src=x onerror=alert(1)>")
    make_order(c, store1, placed_at=_at(_today() - dt.timedelta(days=3)))
    page = _page(client, owner, "en")
    assert 'data-verdict="too_little_data"' in page
    assert "<img src=x" not in page
    funnel = _embedded(page, "lifecycle-data")
    assert [s["label"] for s in funnel["stages"]] == [
        "Potential",
        "New",
        "Active",
        "Silent",
        "Churned",
    ]
    with translation.override("en"):
        assert [stage_title(s) for s in ("potential", "new", "active", "silent", "churned")] == [
            "Potential",
            "New",
            "Active",
            "Silent",
            "Churned",
        ]


@pytest.mark.django_db
def test_the_one_tap_action_and_show_all(client, org, store1, owner, staff_a, other_owner):
    c = make_customer(org, name="王丽", owner=staff_a)
    client.force_login(owner)
    response = client.post(
        "/act-now/task/",
        {"customer": c.pk, "kind": "call", "reason": "about to go silent", "next": "/"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    task = FollowUpTask.objects.get(customer=c)
    assert task.assignee == staff_a and task.kind == "call"
    for kind in ("turning-silent", "due", "birthdays", "valuable-fading"):
        assert client.get(f"/act-now/{kind}/").status_code == 200
    assert client.get("/act-now/nothing/").status_code == 404
    # Another organisation's owner cannot make a task for her.
    client.force_login(other_owner)
    assert client.post("/act-now/task/", {"customer": c.pk, "kind": "call"}).status_code == 404
    assert FollowUpTask.objects.filter(customer=c).count() == 1
