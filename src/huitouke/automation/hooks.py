"""Automation's part of other apps' events: connected in AutomationConfig.ready().

Event triggers enrol inside the event's own transaction (see engine.py): an order that commits
has its enrolments, one that rolls back has none; the run that sends is queued after commit.
"""

from __future__ import annotations

from typing import Any

from huitouke.automation import engine
from huitouke.customers.models import Customer
from huitouke.loyalty.models import TierChange
from huitouke.sales.models import Order, Refund


def on_customer_created(sender: Any, *, customer: Customer, **kwargs: Any) -> None:
    """customers.events.customer_created: the "customer created" rules."""
    engine.on_customer_created(customer)


def on_order_paid(sender: Any, *, order: Order, **kwargs: Any) -> None:
    """sales.events.order_paid: the "order paid" rules."""
    engine.on_order_paid(order)


def on_order_refunded(sender: Any, *, order: Order, refund: Refund, **kwargs: Any) -> None:
    """sales.events.order_refunded: the "order refunded" rules."""
    engine.on_order_refunded(order, refund)


def on_tier_changed(sender: Any, *, change: TierChange, **kwargs: Any) -> None:
    """loyalty.events.tier_changed: the "tier changed" rules."""
    engine.on_tier_changed(change)
