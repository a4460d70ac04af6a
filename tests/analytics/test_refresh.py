"""refresh_organisation stores the hand-worked results of tests/analytics/shop.py, idempotently."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from tests.analytics.shop import AS_OF, shared_world

from huitouke.analytics import queries, reports, results
from huitouke.analytics.jobs import (
    MAX_FAILURES_PER_DAY,
    refresh_due_organisations,
    refresh_organisation,
)
from huitouke.analytics.loader import load_frames
from huitouke.analytics.models import (
    CustomerAnalytics,
    CustomerDue,
    RefreshRun,
    Report,
    ReportKind,
)
from huitouke.analytics.reports import owner_scope, store_scope
from huitouke.sales.models import Category


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), shared_world() as built:
        yield built


# The personas of tests/conftest.py, taken from the shared world instead of rebuilt per test.
@pytest.fixture
def org(db, world):
    return world.org


@pytest.fixture
def store1(world):
    return world.store1


@pytest.fixture
def store2(world):
    return world.store2


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
def staff_b(world):
    return world.staff_b


@pytest.fixture
def staff_c(world):
    return world.staff_c


@pytest.fixture
def shop(world):
    return world.shop


def _rows(org) -> dict[str, dict]:
    fields = [
        "lifecycle",
        "reactivated",
        "days_since_last",
        "days_since_first",
        "silent_after",
        "churned_after",
        "threshold_source",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "value_class",
        "due_categories",
        "p_alive",
        "predicted_clv",
    ]
    return {
        ca["customer__name"][-1]: ca
        for ca in CustomerAnalytics.objects.filter(organisation=org).values(
            "customer__name", "as_of", *fields
        )
    }


def test_refresh_stores_the_hand_worked_customer_results(org, shop):
    run = refresh_organisation(org, AS_OF)
    assert run is not None and run.status == RefreshRun.Status.DONE
    assert run.customers == 9
    rows = _rows(org)
    stages = {k: (r["lifecycle"], r["reactivated"]) for k, r in rows.items()}
    assert stages == {
        "A": ("active", False),
        "B": ("silent", False),
        "C": ("churned", False),
        "D": ("potential", False),
        "E": ("new", False),
        "F": ("active", False),
        "G": ("active", True),
        "H": ("new", False),
        "I": ("potential", False),
    }
    days = {k: (r["days_since_last"], r["days_since_first"]) for k, r in rows.items()}
    assert days["A"] == (10, 172)
    assert days["B"] == (91, 91)
    assert days["C"] == (212, 212)
    assert days["F"] == (100, 273)
    assert days["G"] == (20, 395)
    assert days["D"] == (None, None)
    assert (rows["F"]["silent_after"], rows["F"]["churned_after"]) == (120, 240)
    assert rows["F"]["threshold_source"] == "category"
    assert (rows["B"]["silent_after"], rows["B"]["threshold_source"]) == (90, "org")

    rfm = {
        k: (
            r["recency_days"],
            r["frequency"],
            r["monetary"],
            r["r_score"],
            r["f_score"],
            r["m_score"],
        )
        for k, r in rows.items()
        if r["rfm_segment"]
    }
    assert rfm == {
        "A": (10, 2, Decimal("500.00"), 4, 5, 4),
        "B": (91, 1, Decimal("100.00"), 2, 2, 2),
        "C": (212, 1, Decimal("50.00"), 1, 2, 1),
        "E": (0, 1, Decimal("80.00"), 5, 2, 2),
        "F": (100, 2, Decimal("550.00"), 2, 5, 5),
        "G": (20, 1, Decimal("120.00"), 4, 2, 3),
        "H": (30, 1, Decimal("300.00"), 3, 2, 4),
    }
    segments = {k: (r["rfm_segment"], r["value_class"]) for k, r in rows.items()}
    assert segments == {
        "A": ("champions", "A"),
        "B": ("lost", "C"),
        "C": ("lost", "C"),
        "D": ("", "D"),
        "E": ("new_promising", "C"),
        "F": ("loyal_slipping", "B"),
        "G": ("new_promising", "C"),
        "H": ("promising_big_spenders", "A"),
        "I": ("", "D"),
    }
    assert rows["F"]["due_categories"] == sorted([shop.mask.pk, shop.serum.pk])
    assert rows["C"]["due_categories"] == []  # due within the week, not yet today
    # Three repeat customers are too few for the CLV model: no numbers rather than nonsense.
    assert rows["A"]["p_alive"] is None and rows["A"]["predicted_clv"] is None
    assert all(r["as_of"] == AS_OF for r in rows.values())


def test_refresh_stores_due_rows_cycles_and_the_learned_median(org, shop):
    refresh_organisation(org, AS_OF)
    c = shop.customers
    due = {
        (d.customer_id, d.category_id): (
            d.days_since_last,
            d.due_from_days,
            d.due_to_days,
            d.due_now,
        )
        for d in CustomerDue.objects.filter(organisation=org).annotate(
            refreshed_on=F("customer__analytics__as_of")
        )
    }
    assert due == {
        (c["F"].pk, shop.mask.pk): (273, 215.25, 321.75, True),
        (c["F"].pk, shop.serum.pk): (100, 90.0, 150.0, True),  # configured 120 ± 25%
        (c["C"].pk, shop.mask.pk): (212, 215.25, 321.75, False),
    }
    cycles = Report.objects.get(organisation=org, kind=ReportKind.CYCLES, scope="", as_of=AS_OF)
    [mask] = cycles.data["categories"]
    assert mask == {
        "category_id": shop.mask.pk,
        "count": 2,
        "customers": 2,
        "p25": 215.25,
        "median": 268.5,
        "p75": 321.75,
    }
    assert Category.objects.get(pk=shop.mask.pk).learned_cycle_days == 269  # 268.5 rounded up
    assert Category.objects.get(pk=shop.serum.pk).learned_cycle_days is None


def test_the_due_list_shows_the_day_counts_the_rows_used_to_store(org, shop, owner):
    """The due rows store no day count; the dashboard's list derives it from the refresh's
    as_of and gives the numbers and the order (due now first, then the most days since,
    then the customer) that the stored `days_since_last` gave: the computed due frame's,
    which is what used to be stored, on two consecutive days."""
    c = shop.customers
    for day in (AS_OF, AS_OF + dt.timedelta(days=1)):
        refresh_organisation(org, day)
        listed = [
            (d.customer_id, d.category_id, d.days_since_last, d.due_now)
            for d in queries.due_this_week(owner)
        ]
        frames = load_frames(org)
        _, category_stats = reports.cycles_report(frames, day)
        computed = results.due_rows(frames, day, category_stats)
        before = sorted(
            computed.select("customer_id", "category_id", "days_since_last", "due_now").rows(),
            key=lambda r: (not r[3], -r[2], r[0]),
        )
        assert listed == before
        if day == AS_OF:  # hand-worked: test_refresh_stores_due_rows_cycles_…
            assert listed == [
                (c["F"].pk, shop.mask.pk, 273, True),
                (c["F"].pk, shop.serum.pk, 100, True),
                (c["C"].pk, shop.mask.pk, 212, False),
            ]


def test_refresh_stores_kpis_per_org_store_and_owner(org, shop, store1, store2, staff_a):
    refresh_organisation(org, AS_OF)

    def kpis(scope: str) -> dict:
        return Report.objects.get(organisation=org, kind=ReportKind.KPIS, scope=scope).data

    whole = kpis("")
    assert whole["periods"]["current"] == ["2024-06-01", "2024-06-30"]
    assert whole["periods"]["previous"] == ["2024-05-02", "2024-05-31"]
    assert whole["periods"]["last_year"] == ["2023-06-01", "2023-06-30"]
    now = whole["current"]
    assert (now["buyers"], now["new_buyers"], now["returning_buyers"], now["orders"]) == (
        3,
        1,
        2,
        3,
    )
    assert now["revenue_cents"] == 50000
    assert now["returning_revenue_share"] == pytest.approx(420 / 500)
    assert now["aov_cents"] == pytest.approx(50000 / 3)
    assert now["repurchase_rate"] == 0
    # Previous period: H's 500 order less its 200 refund. Last year: G's first order.
    assert (whole["previous"]["buyers"], whole["previous"]["revenue_cents"]) == (1, 30000)
    assert (whole["last_year"]["buyers"], whole["last_year"]["revenue_cents"]) == (1, 10000)
    assert kpis(store_scope(store1.pk))["current"]["revenue_cents"] == 38000
    assert kpis(store_scope(store2.pk))["current"]["revenue_cents"] == 12000
    mine = kpis(owner_scope(staff_a.pk))["current"]
    assert (mine["buyers"], mine["revenue_cents"]) == (2, 38000)
    clv = Report.objects.get(organisation=org, kind=ReportKind.CLV, scope="")
    assert clv.data["ok"] is False
    assert clv.data["error"]["code"] == "too_few_repeat_customers"


def test_refreshing_twice_gives_the_same_rows(org, shop):
    refresh_organisation(org, AS_OF)
    first = (_rows(org), list(CustomerDue.objects.values_list("customer_id", "category_id")))
    reports = {(r.kind, r.scope): r.data for r in Report.objects.filter(organisation=org)}
    refresh_organisation(org, AS_OF)
    assert (
        _rows(org),
        list(CustomerDue.objects.values_list("customer_id", "category_id")),
    ) == first
    assert {(r.kind, r.scope): r.data for r in Report.objects.filter(organisation=org)} == reports
    assert RefreshRun.objects.filter(organisation=org, status="done").count() == 2


def test_a_running_refresh_makes_the_second_one_back_off(org, shop):
    RefreshRun.objects.create(organisation=org, as_of=AS_OF)
    assert refresh_organisation(org, AS_OF) is None
    assert not CustomerAnalytics.objects.exists()


def test_a_refresh_abandoned_hours_ago_does_not_block_forever(org, shop):
    stale = RefreshRun.objects.create(
        organisation=org, as_of=AS_OF, started_at=timezone.now() - dt.timedelta(hours=3)
    )
    run = refresh_organisation(org, AS_OF)
    assert run is not None and run.status == "done"
    stale.refresh_from_db()
    assert stale.status == "failed"


def test_the_nightly_tick_refreshes_after_half_past_two_local_once_a_day(org, shop):
    before = dt.datetime(2024, 6, 29, 18, 20, tzinfo=dt.UTC)  # 02:20 in Shanghai
    after = dt.datetime(2024, 6, 29, 18, 45, tzinfo=dt.UTC)  # 02:45
    assert refresh_due_organisations(before) == []
    assert refresh_due_organisations(after) == [org.pk]
    assert refresh_due_organisations(after + dt.timedelta(hours=1)) == []
    assert RefreshRun.objects.get().as_of == AS_OF


def test_the_nightly_tick_tries_a_failing_day_three_times(org, shop):
    after = dt.datetime(2024, 6, 29, 18, 45, tzinfo=dt.UTC)  # 02:45 in Shanghai
    failed = RefreshRun.Status.FAILED
    for _ in range(MAX_FAILURES_PER_DAY - 1):
        RefreshRun.objects.create(organisation=org, as_of=AS_OF, status=failed)
    assert refresh_due_organisations(after) == [org.pk]  # fewer failures: tried again
    assert refresh_due_organisations(after) == []  # done
    RefreshRun.objects.filter(status=RefreshRun.Status.DONE).delete()
    RefreshRun.objects.create(organisation=org, as_of=AS_OF, status=failed)
    assert refresh_due_organisations(after) == []  # the day's failures used up
    assert refresh_due_organisations(after + dt.timedelta(days=1)) == [org.pk]  # a new day


def test_an_organisation_without_data_refreshes_to_empty_results(other_org):
    run = refresh_organisation(other_org, AS_OF)
    assert run is not None and run.status == "done" and run.customers == 0
    clv = Report.objects.get(organisation=other_org, kind=ReportKind.CLV)
    assert clv.data["error"]["code"] == "no_customers"
    kpis = Report.objects.get(organisation=other_org, kind=ReportKind.KPIS, scope="")
    assert kpis.data["current"]["buyers"] == 0 and kpis.data["current"]["aov_cents"] is None


def test_refresh_on_demand_task_and_button(client, org, shop, owner, staff_a):
    from huitouke.analytics.tasks import refresh_organisation_task

    run_id = refresh_organisation_task.call_local(org.pk, AS_OF.isoformat())
    assert RefreshRun.objects.get(pk=run_id).as_of == AS_OF
    client.force_login(staff_a)
    assert client.post("/analytics/refresh/").status_code == 403
    client.force_login(owner)
    assert client.post("/analytics/refresh/").status_code == 302


def _stored_reports() -> list[tuple]:
    """Every report row as the database holds it (and on SQLite each value's storage class)."""
    from django.db import connection

    columns = "organisation_id, kind, scope, as_of, data, computed_at"
    if connection.vendor == "sqlite":
        columns += ", " + ", ".join(f"typeof({c})" for c in columns.split(", "))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM analytics_report ORDER BY kind, scope")
        return [tuple(row) for row in cursor.fetchall()]


def test_the_reports_upsert_stores_what_bulk_create_stores(org, shop):
    """The refresh writes its reports in one executemany upsert; the rows are the ORM's
    bulk_create's value by value (storage class too on SQLite), inserted and on conflict."""
    from huitouke.analytics import jobs

    refresh_organisation(org, AS_OF)
    computed = {(r.kind, r.scope): r.data for r in Report.objects.filter(organisation=org)}
    assert len(computed) > 10
    now = timezone.now()
    Report.objects.all().delete()
    Report.objects.bulk_create(
        Report(organisation=org, kind=k, scope=s, as_of=AS_OF, data=d, computed_at=now)
        for (k, s), d in computed.items()
    )
    by_orm = _stored_reports()
    Report.objects.all().delete()
    jobs._upsert_reports(org, AS_OF, computed, now)  # inserted
    assert _stored_reports() == by_orm
    Report.objects.update(data={"x": "旧"}, computed_at=now - dt.timedelta(days=1))
    jobs._upsert_reports(org, AS_OF, computed, now)  # updated on conflict
    assert _stored_reports() == by_orm


def test_the_refresh_commits_without_waiting_for_the_disk_and_restores_the_setting(
    org, shop, monkeypatch
):
    """On PostgreSQL the refresh's writes commit with synchronous_commit off (its results can be
    computed again); the connection's own setting is back afterwards, also after a failure."""
    from django.db import connection

    from huitouke.analytics import jobs

    if connection.vendor != "postgresql":
        assert refresh_organisation(org, AS_OF) is not None
        return

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO local")
    seen = []
    real = jobs._write_customers

    def write_customers(*args):
        seen.append(setting())
        real(*args)

    monkeypatch.setattr(jobs, "_write_customers", write_customers)
    assert refresh_organisation(org, AS_OF) is not None
    assert (seen, setting()) == (["off"], "local")

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "_write_customers", broken)
    with pytest.raises(RuntimeError):
        refresh_organisation(org, AS_OF + dt.timedelta(days=1))
    assert setting() == "local"
