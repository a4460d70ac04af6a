"""Sales' part of other apps' events: connected in SalesConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.sales.models import Order
from huitouke.sales.stats import refresh_customer_stats


def on_customers_merged(sender: Any, *, keep: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customers_merged: her orders move to the kept customer; both stats follow.

    The first receiver (sales is the lowest app that receives it), so loyalty's receiver re-rates
    the kept customer's tier on the moved orders.
    """
    Order.objects.filter(customer=duplicate).update(customer=keep, updated_at=timezone.now())
    refresh_customer_stats(keep.pk)
    refresh_customer_stats(duplicate.pk)
