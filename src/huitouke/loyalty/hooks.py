"""Loyalty's part of every order, refund, merge and import: registered in LoyaltyConfig.ready().

The order, refund and merge hooks run inside the caller's transaction, after sales has locked the
customer's stats row and refreshed her stats: an exception here rolls the whole of it back. The
import hook runs once the import has committed.
"""

from __future__ import annotations

from django.utils import timezone

from huitouke.accounts.models import Organisation
from huitouke.customers.models import Customer
from huitouke.loyalty import actions, coupons, program
from huitouke.sales.models import Order, OrderStatus, Refund


def on_order_paid(order: Order) -> None:
    """Earn points on the order, then re-evaluate the tier with the new spend."""
    if order.customer_id is None:
        return
    actions.earn_for_order(order)
    program.evaluate_tier(order.customer_id, order.organisation_id, reason="order")


def on_order_refunded(order: Order, refund: Refund) -> None:
    """Settle points in proportion to the refund, give back the coupon of a full refund, re-evaluate the tier."""
    if order.customer_id is None:
        return
    actions.reverse_for_refund(order, refund)
    if order.status == OrderStatus.REFUNDED:
        coupons.return_coupon(order)
    program.evaluate_tier(order.customer_id, order.organisation_id, reason="refund")


def on_import_done(organisation: Organisation, customer_ids: list[int]) -> None:
    """Imported history earns no points, but it does count towards the imported customers' tiers."""
    program.reevaluate_tiers_of(
        organisation.pk, now=timezone.now(), reason="import", customer_ids=customer_ids
    )


def on_customers_merged(keep: Customer, duplicate: Customer) -> None:
    """The duplicate's points, debt and coupons move to the kept customer."""
    coupons.move_coupons(keep, duplicate)
    actions.merge_accounts(keep, duplicate)
