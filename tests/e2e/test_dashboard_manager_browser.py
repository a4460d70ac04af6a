"""The home dashboard in a browser as a store manager, on a phone and a laptop, zh and en.

The manager owns customers homed in the other store; her dashboard (from the nightly refresh)
counts them. Every number checked here is recounted in plain Python over the orders and the
customers (docs/definitions.md "Home dashboard"; scope: accounts.scoping), not with the code
under test: the verdict's new and returning buyers, the monthly chart data and the lifecycle
mix. The four charts draw (ECharts adds a canvas), each act-now list has its one-tap action and
its "see the whole list" link, nothing scrolls sideways, tap targets are at least 44 px on a
phone. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD
from tests.web.test_home_dashboard import (
    KINDS,
    TZ,
    _check_months,
    _embedded,
    _periods,
    _seed,
    _today,
)

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import CustomerAnalytics
from huitouke.customers.models import Customer
from huitouke.sales.models import Order, OrderStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHARTS = ("trend-chart", "revenue-chart", "buyers-chart", "lifecycle-chart")
STAGES = ("potential", "new", "active", "silent", "churned")


@pytest.fixture
def shop(org, store1, store2, manager) -> dict[str, Any]:
    _seed(org, store1, KINDS["healthy"])
    Customer.objects.filter(organisation=org).update(home_store=store1)
    _seed(org, store2, KINDS["new_weak"])
    Customer.objects.filter(organisation=org, home_store__isnull=True).update(home_store=store2)
    (s, _e), _ly = _periods(_today())
    away = list(
        Customer.objects.filter(
            organisation=org,
            home_store=store2,
            orders__placed_at__gte=dt.datetime.combine(s, dt.time.min, tzinfo=TZ),
        )
        .distinct()
        .order_by("pk")[:4]
    )
    Customer.objects.filter(pk__in=[c.pk for c in away]).update(owner=manager)
    # One of hers homed away has her birthday tomorrow (shop time): an act-now row with its
    # one-tap action; birthdays need no refresh.
    tomorrow = _today() + dt.timedelta(days=1)
    Customer.objects.filter(pk=away[0].pk).update(
        birthday_kind="solar", birth_month=tomorrow.month, birth_day=tomorrow.day
    )
    run = refresh_organisation(org, _today())
    assert run is not None and not run.detail["report_errors"], run and run.detail
    return {"away": away}


def _hers(org: Any, store: Any, manager: Any) -> tuple[list[tuple[int, dt.date, Any]], dict]:
    """Her orders (placed in her store, or of a customer homed there or owned by her) and each
    customer's first order date in the whole shop."""
    rows = Order.objects.filter(
        organisation=org, status=OrderStatus.PAID, customer__isnull=False
    ).select_related("customer")
    first: dict[int, dt.date] = {}
    mine = []
    for o in rows:
        day = o.placed_at.astimezone(TZ).date()
        first[o.customer_id] = min(first.get(o.customer_id, day), day)
        c = o.customer
        if o.store_id == store.pk or c.home_store_id == store.pk or c.owner_id == manager.pk:
            mine.append((o.customer_id, day, o.net_paid))
    return mine, first


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_manager_sees_her_numbers_drawn(browser, live_server, org, store1, manager, shop, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    orders, first = _hers(org, store1, manager)
    assert {c.pk for c in shop["away"]} <= {cid for cid, _d, _n in orders}
    (s, e), _ly = _periods(_today())
    buyers = {cid for cid, day, _n in orders if s <= day <= e}
    returning = sum(1 for cid in buyers if first[cid] < s)
    # Her lifecycle mix: the refresh's stage of each customer she may see, counted here.
    seen = Customer.objects.filter(organisation=org, merged_into__isnull=True)
    visible = {c.pk for c in seen if c.home_store_id == store1.pk or c.owner_id == manager.pk}
    stages = Counter(
        ca.lifecycle
        for ca in CustomerAnalytics.objects.filter(customer__organisation=org)
        if ca.customer_id in visible
    )
    assert sum(stages.values()) == len(visible)
    for width, height in ((390, 844), (1366, 900)):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            has_touch=width < 500,
            is_mobile=width < 500,
        )
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(30000)
        page.base_url = live_server.url
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        log_in(page, "manager", PASSWORD)
        assert page.get_attribute("html", "lang").startswith("zh" if lang == "zh-hans" else "en")
        for chart in CHARTS:
            page.wait_for_selector(f"#{chart} canvas", state="attached")
        verdict = page.get_by_test_id("shop-verdict")
        assert verdict.get_by_test_id("verdict-new").inner_text() == str(len(buyers) - returning)
        assert verdict.get_by_test_id("verdict-returning").inner_text() == str(returning)
        html = page.content()
        _check_months(_embedded(html, "trends-data"), orders, first)
        mix = {st["code"]: st["count"] for st in _embedded(html, "lifecycle-data")["stages"]}
        assert mix == {code: stages.get(code, 0) for code in STAGES}
        # Each act-now list that has rows: a one-tap action per row and the whole list.
        lists = 0
        for kind, key in (
            ("turning-silent", "turning-silent"),
            ("due-this-week", "due"),
            ("birthdays", "birthdays"),
            ("valuable-fading", "valuable-fading"),
        ):
            section = page.get_by_test_id(kind)
            rows = section.locator(".act-row").count()
            if rows:
                lists += 1
                assert section.locator(".act-row button").count() == rows, kind
                assert (
                    section.get_by_test_id(f"all-{key}")
                    .get_attribute("href")
                    .endswith(f"/act-now/{key}/")
                )
        assert lists >= 1
        birthdays = page.get_by_test_id("birthdays")
        assert shop["away"][0].name in birthdays.inner_text()
        assert birthdays.get_by_test_id(f"act-{shop['away'][0].pk}").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if width < 500:
            small = page.evaluate(
                """() => [...document.querySelectorAll('main .btn, main .act-row button, .show-all')]
                    .filter((el) => el.offsetParent !== null)
                    .map((el) => [el, el.getBoundingClientRect()])
                    .filter(([, r]) => r.height < 44 || r.width < 44)
                    .map(([el, r]) => `${el.outerHTML.slice(0, 80)} ${r.width}x${r.height}`)"""
            )
            assert small == []
        page.screenshot(path=str(SHOTS / f"dashboard-manager-{lang}-{width}.png"), full_page=True)
        assert errors == []
        context.close()
