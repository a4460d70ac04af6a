"""Dashboards, the customer page block, list filters and the cycles page, each in the user's scope."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from lunar_python import Solar
from tests.analytics.shop import AS_OF, TZ, at, shared_world
from tests.helpers import make_customer

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import CustomerAnalytics
from huitouke.analytics.queries import birthdays_this_week, lifecycle_reason
from huitouke.audit.models import AuditEntry
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Category, Product


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), shared_world() as built:
        # J belongs to store 2 and staff C: outside the manager's and staff A's view.
        j = make_customer(built.org, name="客户J", owner=built.staff_c, home_store=built.store2)
        do_record_order(
            organisation=built.org,
            store=built.store2,
            customer=j,
            lines=[
                LineInput(
                    quantity=1,
                    product=Product.objects.get(name="补水面膜"),
                    unit_price=Decimal("60"),
                )
            ],
            actor=None,
            placed_at=at("2024-06-15"),
        )
        built.shop.customers["J"] = j
        refresh_organisation(built.org, AS_OF)
        yield built


# The personas of tests/conftest.py, taken from the shared world instead of rebuilt per test.
@pytest.fixture
def org(db, world):
    return world.org


@pytest.fixture
def owner(world):
    return world.owner


@pytest.fixture
def manager(world):
    return world.manager


@pytest.fixture
def staff_a(world):
    return world.staff_a


@pytest.fixture
def staff_c(world):
    return world.staff_c


@pytest.fixture
def shop(world):
    return world.shop


def _kpi(html: str, key: str) -> str:
    match = re.search(rf'data-testid="kpi-{key}">([^<]*)<', html)
    assert match, f"no KPI card {key}"
    return match.group(1).strip()


def _stage_counts(html: str) -> dict[str, int]:
    found = re.findall(
        r'data-stage="(\w+)"><div class="label">[^<]*</div><div class="value">([\d,]+)<', html
    )
    return {stage: int(n.replace(",", "")) for stage, n in found}


def _get(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("persona", "revenue", "stages"),
    [
        # Whole org: A 300 + E 80 + G 120 + J 60 in June.
        ("owner", "¥560.00", {"potential": 2, "new": 3, "active": 3, "silent": 1, "churned": 1}),
        # Store 1's orders (A, E); customers of store 1 (A..I).
        ("manager", "¥380.00", {"potential": 2, "new": 2, "active": 3, "silent": 1, "churned": 1}),
        # Staff A's customers only: A (active), B (silent), E (new).
        ("staff_a", "¥380.00", {"potential": 0, "new": 1, "active": 1, "silent": 1, "churned": 0}),
    ],
)
def test_dashboard_numbers_cover_only_the_users_scope(
    client, request, shop, persona, revenue, stages
):
    user = request.getfixturevalue(persona)
    for url in ("/", "/analytics/"):
        html = _get(client, user, url)
        assert _kpi(html, "revenue_cents") == revenue
        counts = _stage_counts(html)
        assert {k: counts[k] for k in stages} == stages


def test_staff_dashboard_counts_her_customers_not_the_store(client, shop, staff_c):
    html = _get(client, staff_c, "/")
    assert _kpi(html, "revenue_cents") == "¥60.00"
    assert _kpi(html, "buyers") == "1"
    assert "客户A" not in html


def test_analytics_page_sections_by_role(client, shop, owner, staff_a):
    html = _get(client, owner, "/analytics/")
    for section in ("rfm-grid", "cohorts", "categories", "cycles-chart", "baskets", "calibration"):
        assert f'data-testid="{section}"' in html
    assert 'id="cohort-data"' in html and "echarts.min.js" in html
    # The RFM grid links to the customer list filtered by the segment.
    assert 'href="/customers/?rfm_segment=champions"' in html
    staff_html = _get(client, staff_a, "/analytics/")
    assert 'data-testid="rfm-grid"' in staff_html
    assert 'data-testid="baskets"' not in staff_html
    assert 'data-testid="traffic-profit"' not in staff_html


def test_rfm_grid_counts_and_spend_share(client, shop, owner):
    html = _get(client, owner, "/analytics/")
    cell = re.search(
        r'data-segment="champions">.*?<div class="value">(\d+)</div>\s*'
        r'<div class="label">([^<]*)</div>',
        html,
        re.S,
    )
    assert cell
    assert cell.group(1) == "1"  # A
    # A spent 500 of the 1760 scored spend (A..H without D and I, plus J's 60).
    assert "¥500.00 · 28.4%" in cell.group(2)


def test_segment_click_through_lists_the_segment(client, shop, owner):
    html = _get(client, owner, "/customers/?rfm_segment=promising_big_spenders")
    assert "客户H" in html and "客户A" not in html


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("lifecycle=silent", {"B"}),
        ("lifecycle=active&reactivated=yes", {"G"}),
        ("value_class=A", {"A", "H"}),
        ("value_class=D", {"D", "I"}),
        ("orders_min=2", {"A", "E", "F", "G"}),
        ("spend_min=300&spend_max=600", {"A", "F", "H"}),
    ],
)
def test_list_filters(client, shop, owner, query, names):
    html = _get(client, owner, f"/customers/?{query}")
    assert set(re.findall(r">客户(\w)</a>", html)) == names


def test_list_filters_due_category_clv_and_days_since(client, shop, owner):
    html = _get(client, owner, f"/customers/?due_category={shop.mask.pk}")
    assert set(re.findall(r">客户(\w)</a>", html)) == {"F"}
    CustomerAnalytics.objects.filter(customer=shop.customers["A"]).update(
        p_alive=0.3, predicted_clv=Decimal("900")
    )
    CustomerAnalytics.objects.filter(customer=shop.customers["F"]).update(
        p_alive=0.8, predicted_clv=Decimal("100")
    )
    html = _get(client, owner, "/customers/?p_alive_max=0.5")
    assert set(re.findall(r">客户(\w)</a>", html)) == {"A"}
    html = _get(client, owner, "/customers/?clv_min=500")
    assert set(re.findall(r">客户(\w)</a>", html)) == {"A"}
    # Days since the last order are counted live, to today in Shanghai.
    d = (timezone.now().astimezone(TZ).date() - dt.date(2024, 6, 20)).days
    html = _get(client, owner, f"/customers/?days_min={d}&days_max={d}")
    assert set(re.findall(r">客户(\w)</a>", html)) == {"A"}
    html = _get(client, owner, f"/customers/?days_min={d + 1}&days_max={d + 12}")
    assert set(re.findall(r">客户(\w)</a>", html)) == {"G", "J"}  # 06-10 and 06-15


def test_customer_page_shows_the_reason_and_scores(client, shop, owner):
    html = _get(client, owner, f"/customers/{shop.customers['B'].pk}/")
    assert "last order 91 days ago; cycle 90 days → silent" in html
    html = _get(client, owner, f"/customers/{shop.customers['F'].pk}/")
    assert "last order 100 days ago; cycle 120 days (精华) → active" in html
    assert "R1 F5 M5" in html and "loyal, slipping" in html
    assert "面膜" in re.search(r'data-testid="due">(.*?)</dd>', html, re.S).group(1)


def test_customer_page_in_chinese(client, shop, owner):
    client.force_login(owner)
    html = client.get(
        f"/customers/{shop.customers['B'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "上次消费91天前；周期90天 → 沉默" in html


def _row(**values) -> CustomerAnalytics:
    base = {
        "lifecycle": "silent",
        "days_since_last": 95,
        "days_since_first": 300,
        "silent_after": 90,
        "churned_after": 180,
        "threshold_source": "org",
        "reactivated": False,
    }
    return CustomerAnalytics(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "category", "en", "zh"),
    [
        (
            {},
            None,
            "last order 95 days ago; cycle 90 days → silent",
            "上次消费95天前；周期90天 → 沉默",
        ),
        (
            {"lifecycle": "active", "days_since_last": 1},
            None,
            "last order 1 day ago; cycle 90 days → active",
            "上次消费1天前；周期90天 → 老客",
        ),
        (
            {"lifecycle": "new", "days_since_last": 3, "days_since_first": 12},
            None,
            "first order 12 days ago; new for the first 90 days → new",
            "首次消费12天前；前90天算新客 → 新客",
        ),
        (
            {"lifecycle": "churned", "days_since_last": 200},
            None,
            "last order 200 days ago; churned after 180 days → churned",
            "上次消费200天前；超过180天算流失 → 流失",
        ),
        (
            {"silent_after": 120, "churned_after": 240, "threshold_source": "category"},
            "精华",
            "last order 95 days ago; cycle 120 days (精华) → silent",
            "上次消费95天前；周期120天（精华） → 沉默",
        ),
        (
            {
                "lifecycle": "churned",
                "days_since_last": 300,
                "churned_after": 240,
                "threshold_source": "category",
            },
            "精华",
            "last order 300 days ago; churned after 240 days (twice the 精华 cycle) → churned",
            "上次消费300天前；超过240天（精华周期的两倍）算流失 → 流失",
        ),
        (
            {
                "lifecycle": "active",
                "days_since_last": 20,
                "reactivated": True,
                "gap_before_last_days": 375,
            },
            None,
            "last order 20 days ago; cycle 90 days → active; came back after 375 days away "
            "(reactivated)",
            "上次消费20天前；周期90天 → 老客；间隔375天后回流",
        ),
        (
            {"lifecycle": "potential", "days_since_last": None, "days_since_first": None},
            None,
            "no order yet → potential",
            "还没有消费 → 潜客",
        ),
    ],
)
def test_lifecycle_reason_in_english_and_chinese(values, category, en, zh):
    row = _row(**values)
    with translation.override("en"):
        assert lifecycle_reason(row, category) == en
    with translation.override("zh-hans"):
        assert lifecycle_reason(row, category) == zh


def test_act_now_lists(client, shop, owner, staff_a):
    c = shop.customers
    # A (class A) is 5 days from going silent; worth 5000 if she stays but P(alive) 0.3.
    CustomerAnalytics.objects.filter(customer=c["A"]).update(
        days_since_last=85, p_alive=0.3, clv_if_alive=Decimal("5000")
    )
    html = _get(client, owner, "/")
    silent = re.search(r'data-testid="turning-silent">(.*?)</section>', html, re.S).group(1)
    assert "客户A" in silent and "客户H" not in silent
    due = re.search(r'data-testid="due-this-week">(.*?)</section>', html, re.S).group(1)
    assert re.findall(r">客户(\w)</a>", due) == ["F", "F", "C"]  # due now first, then C
    # Her days since the purchase, derived from the refresh's as_of (no day count is stored):
    # F's mask 273 and serum 100 days, C's mask 212 (test_refresh's hand-worked due rows).
    rows = re.findall(r'<div class="act-row">(.*?)</div>', due, re.S)
    assert [re.findall(r"\b(273|100|212)\b", r) for r in rows] == [["273"], ["100"], ["212"]]
    fading = re.search(r'data-testid="valuable-fading">(.*?)</section>', html, re.S).group(1)
    assert "客户A" in fading
    # Staff A sees only her own customers in every list.
    html = _get(client, staff_a, "/")
    due = re.search(r'data-testid="due-this-week">(.*?)</section>', html, re.S).group(1)
    assert "客户F" not in due and "客户C" not in due


def test_birthdays_this_week_solar_and_lunar(org, owner, staff_a):
    today = timezone.now().astimezone(TZ).date()
    in_two = today + dt.timedelta(days=2)
    in_nine = today + dt.timedelta(days=9)
    lunar = Solar.fromYmd(in_two.year, in_two.month, in_two.day).getLunar()
    make_customer(org, name="阳历", owner=staff_a, birth_month=in_two.month, birth_day=in_two.day)
    make_customer(
        org,
        name="农历",
        birthday_kind="lunar",
        birth_month=abs(lunar.getMonth()),
        birth_day=lunar.getDay(),
        birth_leap_month=lunar.getMonth() < 0,
    )
    make_customer(org, name="下周", birth_month=in_nine.month, birth_day=in_nine.day)
    found = birthdays_this_week(owner, today)
    assert [(when, c.name) for when, c in found] == [(in_two, "阳历"), (in_two, "农历")]
    assert [c.name for _, c in birthdays_this_week(staff_a, today)] == ["阳历"]


def test_cycles_page_and_adopting_the_learned_median(client, shop, manager, staff_a, other_org):
    html = _get(client, manager, "/analytics/cycles/")
    row = re.search(rf'data-category="{shop.mask.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "268.5" in row and "Use 269 days" in row
    response = client.post(f"/analytics/cycles/{shop.mask.pk}/adopt/")
    assert response.status_code == 302
    assert Category.objects.get(pk=shop.mask.pk).cycle_days == 269
    entry = AuditEntry.objects.get(action="settings", object_id=str(shop.mask.pk))
    assert entry.detail["to"] == 269 and entry.actor == manager
    # A category without a learned cycle cannot be adopted; nothing changes.
    client.post(f"/analytics/cycles/{shop.serum.pk}/adopt/")
    assert Category.objects.get(pk=shop.serum.pk).cycle_days == 120
    # Staff may not change cycles; another organisation's category does not exist here.
    client.force_login(staff_a)
    assert client.post(f"/analytics/cycles/{shop.mask.pk}/adopt/").status_code == 403
    assert client.get("/analytics/cycles/").status_code == 403
    foreign = Category.objects.create(organisation=other_org, name="x")
    client.force_login(manager)
    assert client.post(f"/analytics/cycles/{foreign.pk}/adopt/").status_code == 404
