"""Two workers running the SOP engine at the same moment create each task exactly once.

On PostgreSQL the threads really interleave (the unique constraints decide); on SQLite the
IMMEDIATE transactions queue them, and the same must hold.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.analytics.models import CustomerAnalytics
from huitouke.followups.models import FollowUpTask, SopMembership, SopRule
from huitouke.followups.sop import run_sops
from tests.helpers import make_customer, make_order, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_runs_create_each_task_once(org, store1, staff_a):
    earlier = timezone.now() - timedelta(hours=1)
    for i in range(12):
        c = make_customer(org, name=f"客{i}", gender="f", owner=staff_a)
        make_order(c, store1, unit_price="1200" if i % 2 else "200", placed_at=earlier)
        if i % 3 == 0:
            CustomerAnalytics.objects.create(
                customer=c,
                organisation=org,
                as_of=earlier.date(),
                lifecycle="silent",
                rfm_segment="big_spenders_at_risk",
            )
    now = timezone.now()

    def run(_i: int) -> int:
        return run_sops(Organisation.objects.get(pk=org.pk), now=now)

    _results, errors = run_in_threads(4, run)
    assert errors == []
    keys = Counter(FollowUpTask.objects.values_list("rule_id", "customer_id", "occurrence_key"))
    assert keys and max(keys.values()) == 1
    # 12 new customers + 6 big orders + 12 first-order care + 4 at risk, each once.
    assert len(keys) == 12 + 6 + 12 + 4
    assert SopRule.objects.filter(organisation=org).exclude(code="").count() == 7
    assert SopMembership.objects.count() == 4
