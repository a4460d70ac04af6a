"""A large shop's refresh on SQLite writes its rows by the child process while it computes.

The due rows are handed to the child once the cycles are known and the customer rows once CLV
is done (`jobs._Background`); what is stored must be what the refresh stores when every row
goes through the cursor, value by value and storage class by storage class, also when the
child fails (the cursor writes the rows) and after a refresh that failed half way (a later
one repairs everything). On PostgreSQL the rows are written by COPY on a second connection
while the refresh computes, and the same comparison holds. These tests commit
(transaction=True): the child and the second connection see only committed rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from tests.analytics.test_small_shops import AS_OF, build_shop

from huitouke.analytics import jobs, loader, results
from huitouke.analytics.models import CustomerAnalytics, CustomerDue, RefreshRun, Report
from huitouke.sales.models import Category

CURSOR_ONLY = {"ANALYTICS_CHILD_READER_MIN_CUSTOMERS": 10**9, "ANALYTICS_COPY_MIN_CUSTOMERS": 10**9}
BULK = {"ANALYTICS_CHILD_READER_MIN_CUSTOMERS": 0, "ANALYTICS_COPY_MIN_CUSTOMERS": 0}


def _stored(org: Any) -> dict[str, list[tuple]]:
    """Every stored result of the organisation with its storage class, in a fixed order."""
    kind = "typeof({})" if connection.vendor == "sqlite" else "pg_typeof({})::text"
    out = {}
    for name, model, order, leave_out in (
        ("customers", CustomerAnalytics, "customer_id", ("id", "updated_at")),
        ("due", CustomerDue, "customer_id, category_id", ("id",)),
        ("reports", Report, "kind, scope", ("id", "computed_at")),
    ):
        columns = [f.column for f in model._meta.concrete_fields if f.name not in leave_out]
        select = ", ".join(f"{c}, {kind.format(c)}" for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {select} FROM {model._meta.db_table} WHERE organisation_id = %s"
                f" ORDER BY {order}",
                [org.pk],
            )
            out[name] = cursor.fetchall()
    out["learned"] = list(
        Category.objects.filter(organisation=org).order_by("pk").values_list("learned_cycle_days")
    )
    return out


def _clear(org: Any) -> None:
    for model in (CustomerAnalytics, CustomerDue, Report):
        model.objects.filter(organisation=org).delete()
    Category.objects.filter(organisation=org).update(learned_cycle_days=None)


@pytest.fixture
def shop() -> tuple[Any, dict[str, list[tuple]]]:
    """A random shop of 300 customers and what the cursor-only refresh stores for it."""
    org = build_shop("random", 300, 7)
    with override_settings(**CURSOR_ONLY):
        run = jobs.refresh_organisation(org, AS_OF)
    assert run is not None and run.status == RefreshRun.Status.DONE
    assert run.detail["background_writes"] == {}
    by_cursor = _stored(org)
    # Not a vacuous comparison: every customer, due rows and CLV predictions are there.
    assert len(by_cursor["customers"]) == 300 and len(by_cursor["due"]) > 10
    assert run.detail["clv_ok"]
    assert CustomerAnalytics.objects.filter(organisation=org, p_alive__isnull=False).exists()
    assert Category.objects.filter(organisation=org, learned_cycle_days__isnull=False).exists()
    _clear(org)
    return org, by_cursor


@pytest.mark.django_db(transaction=True)
def test_the_rows_written_during_the_refresh_are_the_cursors(shop, monkeypatch):
    org, by_cursor = shop

    def no_cursor(*args):
        raise AssertionError("the rows should have gone through the bulk writer")

    monkeypatch.setattr(jobs, "_analytics_rows", no_cursor)
    with override_settings(**BULK):
        run = jobs.refresh_organisation(org, AS_OF)
    assert run is not None and run.status == RefreshRun.Status.DONE
    # Both writes ran in the background: the child process (SQLite), a second connection
    # (PostgreSQL).
    assert set(run.detail["background_writes"]) == {"due", "customers"}
    assert _stored(org) == by_cursor


@pytest.mark.django_db(transaction=True)
def test_a_failing_child_leaves_the_rows_to_the_cursor(shop, monkeypatch, caplog):
    org, by_cursor = shop
    if connection.vendor != "sqlite":
        assert not loader.child_usable()
        return
    monkeypatch.setattr(loader.sys, "executable", "/nonexistent/python")
    with override_settings(**BULK):
        run = jobs.refresh_organisation(org, AS_OF)
    assert run is not None and run.status == RefreshRun.Status.DONE
    assert caplog.text.count("Arrow writer failed") == 2  # the due rows, the customers
    assert _stored(org) == by_cursor


@pytest.mark.django_db(transaction=True)
def test_a_refresh_failing_after_its_due_rows_are_written_is_marked_failed_and_repaired(
    shop, monkeypatch
):
    org, by_cursor = shop

    def broken(*args):
        raise RuntimeError("broken after the cycles")

    with override_settings(**BULK), monkeypatch.context() as patch:
        patch.setattr(results, "customer_results", broken)
        with pytest.raises(RuntimeError, match="broken after the cycles"):
            jobs.refresh_organisation(org, AS_OF)
        failed = RefreshRun.objects.filter(organisation=org).latest("pk")
        assert failed.status == RefreshRun.Status.FAILED
        assert failed.detail["error"] == "RuntimeError: broken after the cycles"
        # The due rows' write had begun; it was waited for before the run was marked.
        assert set(failed.detail["background_writes"]) == {"due"}
        assert _stored(org)["due"] == by_cursor["due"]
        assert not CustomerAnalytics.objects.filter(organisation=org).exists()
    with override_settings(**BULK):
        run = jobs.refresh_organisation(org, AS_OF)
    assert run is not None and run.status == RefreshRun.Status.DONE
    assert _stored(org) == by_cursor
