"""Two workers refreshing one organisation at the same moment: one works, the other backs off."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from tests.analytics.shop import AS_OF, build_shop

from huitouke.analytics.jobs import refresh_organisation
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
