"""Analytics' part of other apps' events: connected in AnalyticsConfig.ready()."""

from __future__ import annotations

from typing import Any

from huitouke.analytics.models import CustomerAnalytics, CustomerDue
from huitouke.customers.models import Customer


def on_customers_merged(sender: Any, *, keep: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customers_merged: the duplicate's results go, inside the merge.

    A customer merged away is no customer any more; the next refresh would delete her rows, and
    until then the owner's counts (analytics.queries.analytics_for, which reads the table without
    a join) must not count her. The kept customer's results are recomputed by the next refresh.
    """
    CustomerAnalytics.objects.filter(customer=duplicate).delete()
    CustomerDue.objects.filter(customer=duplicate).delete()
