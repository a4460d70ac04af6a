"""Two workers refreshing one organisation at the same moment: one works, the other backs off;
two nightly ticks by turns refresh it once."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from tests.analytics.shop import AS_OF, build_shop

from huitouke.analytics import jobs
from huitouke.analytics.jobs import refresh_due_organisations, refresh_organisation
from huitouke.analytics.models import CustomerAnalytics, RefreshRun


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_refresh_once(org, store1, store2, staff_a, staff_b):
    build_shop(org, store1, store2, staff_a, staff_b)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(refresh_organisation(org, AS_OF))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]
    assert RefreshRun.objects.filter(status="done").count() == 1
    assert CustomerAnalytics.objects.count() == 9


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_found_the_shop_due_while_another_finished_it_backs_off(
    monkeypatch, org, store1, store2, staff_a, staff_b
):
    """Two nightly ticks on two connections: the late one saw no finished run, then waited
    (between its look and its claim) while the other refreshed the shop; its claim must not
    refresh the shop a second time."""
    build_shop(org, store1, store2, staff_a, staff_b)
    now = dt.datetime.combine(AS_OF, dt.time(3, 0), tzinfo=ZoneInfo(org.time_zone))
    real_claim = jobs._claim
    at_claim, other_done = threading.Event(), threading.Event()

    def claim(*args, **kwargs):
        if threading.current_thread().name == "late":
            at_claim.set()
            assert other_done.wait(120)
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(jobs, "_claim", claim)
    late: dict[str, list[int]] = {}

    def work() -> None:
        try:
            late["done"] = refresh_due_organisations(now)
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="late")
    thread.start()
    try:
        assert at_claim.wait(120)  # the late tick found the shop due and is about to claim it
        first = refresh_due_organisations(now)
    finally:
        other_done.set()
        thread.join(120)
    assert first == [org.pk]
    assert late["done"] == []
    runs = RefreshRun.objects.filter(organisation=org, as_of=AS_OF)
    assert list(runs.values_list("status", flat=True)) == ["done"]
    assert CustomerAnalytics.objects.count() == 9
