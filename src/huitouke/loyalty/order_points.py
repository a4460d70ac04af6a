"""Points for an order and back for its refund: earning (with the birthday multiplier) when an
order is paid, taking back the refunded share; called from loyalty.hooks inside the order's or
the refund's transaction, on the ledger primitives of loyalty.actions."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from huitouke.core.locks import lock_loyalty_account
from huitouke.core.occasions import birthday_in_year
from huitouke.customers.models import Customer
from huitouke.loyalty.actions import MAX_POINTS, credit, expiry_for, org_time_zone, take_back
from huitouke.loyalty.models import (
    ZERO,
    LoyaltySettings,
    PointsEntry,
    PointsKind,
    Tier,
)
from huitouke.loyalty.program import ensure_program as ensure_program
from huitouke.loyalty.program import evaluate_tier as evaluate_tier
from huitouke.loyalty.program import tier_for
from huitouke.sales.models import Order, OrderStatus, Refund


def birthday_multiplier_applies(customer: Customer, when: datetime, time_zone: str) -> bool:
    """Whether `when` falls in the customer's birthday month (a lunar birthday: its solar month that year)."""

    if not customer.has_birthday:
        return False
    local = timezone.localtime(when, ZoneInfo(time_zone)).date()
    if customer.birthday_kind != "lunar":
        return customer.birth_month == local.month
    # A lunar year's last months reach into the next solar year, so look at two lunar years.
    for year in (local.year - 1, local.year):
        try:
            day = birthday_in_year(
                "lunar",
                customer.birth_month or 0,
                customer.birth_day or 0,
                customer.birth_leap_month,
                year,
            )
        except ValueError:
            return False
        if (day.year, day.month) == (local.year, local.month):
            return True
    return False


def earn_for_order(
    order: Order, *, tiers: list[Tier] | None = None, rules: LoyaltySettings | None = None
) -> PointsEntry | None:
    """Credit the points a paid order earns: net paid × rate × tier multiplier (× birthday month).

    `rules` and `tiers` are the organisation's program and tiers, when the caller has read them
    already (after ensure_program, which creates the default tiers).
    """
    if order.customer_id is None or order.status != OrderStatus.PAID:
        return None
    rules = rules or ensure_program(order.organisation_id)
    account = lock_loyalty_account(order.customer_id, order.organisation_id)
    # The tier she held when she ordered; a new member starts in the base tier.
    if tiers is None:
        tiers = list(Tier.objects.filter(organisation_id=order.organisation_id))
    tier = next((t for t in tiers if t.pk == account.tier_id), None) or tier_for(tiers, ZERO)
    time_zone = org_time_zone(order.organisation_id, order)
    rate = rules.points_per_yuan * (tier.points_multiplier if tier else Decimal(1))
    customer = order.customer
    if customer is not None and birthday_multiplier_applies(customer, order.placed_at, time_zone):
        rate *= rules.birthday_multiplier
    points = int((order.net_paid * rate).to_integral_value(rounding=ROUND_FLOOR))
    if points <= 0:
        return None
    return credit(
        order.customer_id,
        order.organisation_id,
        PointsKind.EARN,
        min(points, MAX_POINTS),
        expires_at=expiry_for(order.placed_at, rules, time_zone),
        order=order,
        locked=account,
    )


def _net(entries: Any, kind: str) -> int:
    # points - debt is the row's effect on what she holds net of what she owes.
    total = entries.filter(kind=kind).aggregate(n=Coalesce(Sum(F("points") - F("debt")), Value(0)))[
        "n"
    ]
    return int(total)


def _share(total: int, refunded: Decimal, paid: Decimal) -> int:
    return int((Decimal(total) * refunded / paid).to_integral_value(rounding=ROUND_HALF_UP))


def reverse_for_refund(order: Order, refund: Refund) -> None:
    """Return the points an order used and take back the points it earned, in proportion to the refund."""
    if order.customer_id is None or order.net_paid <= 0:
        return
    rules = ensure_program(order.organisation_id)
    entries = PointsEntry.objects.filter(order=order)
    earned, used = _net(entries, PointsKind.EARN), -_net(entries, PointsKind.REDEEM)
    taken, returned = (
        -_net(entries, PointsKind.REFUND_REVERSAL),
        _net(entries, PointsKind.REFUND_RETURN),
    )
    full = order.status == OrderStatus.REFUNDED
    # Cumulative targets, so several partial refunds add up to exactly the whole.
    due_back = (used if full else _share(used, order.refunded_amount, order.net_paid)) - returned
    due_taken = (earned if full else _share(earned, order.refunded_amount, order.net_paid)) - taken
    # Return first: the returned points can then cover what is taken back.
    if due_back > 0:
        now = timezone.now()
        credit(
            order.customer_id,
            order.organisation_id,
            PointsKind.REFUND_RETURN,
            due_back,
            order=order,
            refund=refund,
            expires_at=expiry_for(now, rules, org_time_zone(order.organisation_id)),
        )
    if due_taken > 0:
        earn_entry = entries.filter(kind=PointsKind.EARN).first()
        take_back(
            order.customer_id,
            order.organisation_id,
            due_taken,
            order=order,
            refund=refund,
            expires_at=earn_entry.expires_at if earn_entry else None,
        )
