"""Loyalty's part of every order, refund, merge and import: connected in LoyaltyConfig.ready().

The order, refund and merge receivers run inside the sender's transaction, after sales has
locked the customer's stats row and refreshed her stats: an exception here rolls the whole of it
back. The import receiver runs once the import has committed.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.customers.models import Customer
from huitouke.loyalty import actions, coupons, order_points, program
from huitouke.loyalty.models import Tier
from huitouke.sales.models import Order, OrderStatus, Refund


def on_order_paid(sender: Any, *, order: Order, **kwargs: Any) -> None:
    """sales.events.order_paid: earn points on the order, then re-evaluate the tier."""
    if order.customer_id is None:
        return
    # Both steps read the organisation's tiers: once is enough (after the program exists, since
    # its first use creates the default tiers).
    rules = program.ensure_program(order.organisation_id)
    tiers = list(Tier.objects.filter(organisation_id=order.organisation_id))
    order_points.earn_for_order(order, tiers=tiers, rules=rules)
    program.evaluate_tier(order.customer_id, order.organisation_id, reason="order", tiers=tiers)


def on_order_refunded(sender: Any, *, order: Order, refund: Refund, **kwargs: Any) -> None:
    """sales.events.order_refunded: settle points in proportion, give back the coupon of a full refund, re-evaluate the tier."""
    if order.customer_id is None:
        return
    order_points.reverse_for_refund(order, refund)
    if order.status == OrderStatus.REFUNDED:
        coupons.return_coupon(order)
    program.evaluate_tier(order.customer_id, order.organisation_id, reason="refund")


def on_orders_imported(
    sender: Any, *, organisation: Organisation, customer_ids: list[int], **kwargs: Any
) -> None:
    """sales.events.orders_imported: imported history earns no points, but counts towards tiers."""
    program.reevaluate_tiers_of(
        organisation.pk, now=timezone.now(), reason="import", customer_ids=customer_ids
    )


def on_customers_merged(sender: Any, *, keep: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customers_merged: the duplicate's points, debt and coupons move to keep."""
    coupons.move_coupons(keep, duplicate)
    actions.merge_accounts(keep, duplicate)
