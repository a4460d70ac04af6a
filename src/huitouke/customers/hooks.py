"""Customers' receivers: the relay that turns a created Customer row into customer_created."""

from __future__ import annotations

from typing import Any

from huitouke.customers import events
from huitouke.customers.models import Customer


def send_customer_created(
    sender: Any, *, instance: Customer, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of Customer: a new customer (not a fixture, not an edit) is customer_created."""
    if created and not raw:
        events.customer_created.send(sender=Customer, customer=instance)
