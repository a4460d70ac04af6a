"""Every write to points: the ledger, the cached balance, expiry and merges (earning on an order
and taking back on a refund are loyalty.order_points).

The balance on LoyaltyAccount is a cache of the ledger: each change is an F() update of the
account in the same transaction as the ledger row, and a debit is conditional
(`WHERE balance >= amount`), so two redemptions can never both spend the same points, on
SQLite or PostgreSQL. Points owed after a refund are kept in `debt`, paid off first by later
credits; so `debt > 0` implies `balance == 0`.

Expiry (`points_to_expire`): a positive row with `expires_at` is a lot. Points are used
soonest-expiring first, so what is still held is always the latest-expiring part: at time T the
lapsed points are max(0, lots expiring by T − points used so far), where a refund reversal
counts against the lot it takes back and every other debit (redeem, expire, negative adjust)
counts as use.

The program's rules and tiers live in loyalty.program; the names other apps import from here
(ensure_program, evaluate_tier) are re-exported; a tier change is announced by
loyalty.events.tier_changed.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.core.locks import lock_loyalty_account
from huitouke.customers.models import Customer
from huitouke.loyalty.models import (
    ExpiryPolicy,
    LoyaltyAccount,
    LoyaltySettings,
    PointsEntry,
    PointsKind,
)
from huitouke.loyalty.program import ensure_program as ensure_program
from huitouke.loyalty.program import evaluate_tier as evaluate_tier
from huitouke.sales.models import Order

MAX_POINTS = 100_000_000


def _add_months(when: datetime, months: int) -> datetime:
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    return when.replace(
        year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1])
    )


def expiry_for(earned_at: datetime, rules: LoyaltySettings, time_zone: str) -> datetime | None:
    """When points earned at `earned_at` lapse under the organisation's rules (None: never)."""
    if rules.expiry_policy == ExpiryPolicy.NEVER:
        return None
    local = timezone.localtime(earned_at, ZoneInfo(time_zone))
    if rules.expiry_policy == ExpiryPolicy.MONTHS:
        return _add_months(local, rules.expiry_months)
    # End of the following year: they lapse at the first moment of the year after that.
    return local.replace(
        year=local.year + 2, month=1, day=1, hour=0, minute=0, second=0, microsecond=0
    )


def org_time_zone(organisation_id: int, order: Order | None = None) -> str:
    # The order path usually holds the organisation already (do_record_order was given it).
    if order is not None and Order.organisation.is_cached(order):
        return order.organisation.time_zone
    return Organisation.objects.values_list("time_zone", flat=True).get(pk=organisation_id)


def _check_points(points: Any, *, allow_negative: bool = False) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError(
            {"points": _("The points must be a whole number (got %(value)s).") % {"value": points}}
        )
    if points == 0 or (points < 0 and not allow_negative):
        raise ValidationError(
            {"points": _("The points must be above 0 (got %(value)s).") % {"value": points}}
        )
    if abs(points) > MAX_POINTS:
        raise ValidationError(
            {"points": _("At most %(max)s points at a time.") % {"max": MAX_POINTS}}
        )
    return points


# --- the ledger --------------------------------------------------------------------------------


def account_for(customer: Customer) -> LoyaltyAccount:
    """The customer's account, created empty on first use."""
    account, _created = LoyaltyAccount.objects.get_or_create(
        customer_id=customer.pk, defaults={"organisation_id": customer.organisation_id}
    )
    return account


def _append(
    account: LoyaltyAccount,
    kind: str,
    points: int,
    debt: int,
    *,
    balance: int | None = None,
    **fields: Any,
) -> PointsEntry:
    # Called right after this transaction's UPDATE of the account, whose row it now holds locked,
    # so the balance read here is exactly the balance after this entry. A caller that read the
    # account under its lock knows that balance already and passes it.
    if balance is None:
        balance = LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    actor = fields.pop("actor", None)
    return PointsEntry.objects.create(
        organisation_id=account.organisation_id,
        customer_id=account.pk,
        kind=kind,
        points=points,
        debt=debt,
        balance_after=balance,
        actor=actor if getattr(actor, "pk", None) else None,
        **fields,
    )


def credit(
    customer_id: int,
    organisation_id: int,
    kind: str,
    points: int,
    *,
    locked: LoyaltyAccount | None = None,
    **fields: Any,
) -> PointsEntry:
    """Add points; any points owed are paid off first.

    `locked` is her account as read under its lock earlier in this transaction, if the caller
    holds it already.
    """
    account = locked or lock_loyalty_account(customer_id, organisation_id)
    paid_off = min(points, account.debt)
    updated = LoyaltyAccount.objects.filter(pk=account.pk, debt__gte=paid_off).update(
        balance=F("balance") + (points - paid_off), debt=F("debt") - paid_off
    )
    if updated != 1:
        raise RuntimeError("loyalty account changed while locked")
    balance = account.balance + points - paid_off
    return _append(account, kind, points - paid_off, -paid_off, balance=balance, **fields)


def _debit(customer: Customer, kind: str, points: int, **fields: Any) -> PointsEntry:
    """Take points from the balance, only if she has them (the conditional UPDATE decides)."""
    account = account_for(customer)
    updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=points).update(
        balance=F("balance") - points
    )
    if updated != 1:
        balance = LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
        raise ValidationError(
            {
                "points": _("Not enough points: the balance is %(balance)s, %(points)s requested.")
                % {"balance": balance, "points": points}
            },
            code="insufficient_points",
        )
    return _append(account, kind, -points, 0, **fields)


def take_back(customer_id: int, organisation_id: int, due: int, **fields: Any) -> PointsEntry:
    """Take back `due` points after a refund: what the balance holds, the rest recorded as owed."""
    account = lock_loyalty_account(customer_id, organisation_id)
    taken = min(due, account.balance)
    updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=taken).update(
        balance=F("balance") - taken, debt=F("debt") + (due - taken)
    )
    if updated != 1:
        raise RuntimeError("loyalty account changed while locked")
    return _append(
        account,
        PointsKind.REFUND_REVERSAL,
        -taken,
        due - taken,
        balance=account.balance - taken,
        **fields,
    )


def do_adjust_points(
    customer: Customer, *, points: int, reason: str, actor: Any, request: Any = None
) -> PointsEntry:
    """Add (points > 0) or remove (points < 0) points by hand, with a reason; audited."""
    points = _check_points(points, allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for the adjustment.")})
    with transaction.atomic():
        if points > 0:
            rules = ensure_program(customer.organisation_id)
            expires_at = expiry_for(timezone.now(), rules, org_time_zone(customer.organisation_id))
            entry = credit(
                customer.pk,
                customer.organisation_id,
                PointsKind.ADJUST,
                points,
                expires_at=expires_at,
                reason=reason[:200],
                actor=actor,
            )
        else:
            entry = _debit(customer, PointsKind.ADJUST, -points, reason=reason[:200], actor=actor)
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="points_adjust",
            target=customer,
            request=request,
            detail={"points": points, "reason": reason[:200]},
        )
    return entry


def do_redeem_points(
    customer: Customer, *, points: int, actor: Any, reason: str = "", order: Order | None = None
) -> PointsEntry:
    """Spend points (on an order, or for a gift); refused, changing nothing, beyond the balance."""
    points = _check_points(points)
    with transaction.atomic():
        return _debit(
            customer,
            PointsKind.REDEEM,
            points,
            order=order,
            reason=(reason or "").strip()[:200],
            actor=actor,
        )


# --- expiry ------------------------------------------------------------------------------------


def points_to_expire(customer_id: int, now: datetime) -> int:
    """Points of the customer that have lapsed by `now` and are still held (see the module notes)."""
    agg = PointsEntry.objects.filter(customer_id=customer_id).aggregate(
        lapsing=Coalesce(Sum("points", filter=Q(expires_at__lte=now)), Value(0)),
        used=Coalesce(Sum("points", filter=Q(expires_at__isnull=True, points__lt=0)), Value(0)),
    )
    return max(0, int(agg["lapsing"]) + int(agg["used"]))


def expire_points_of(
    customer_id: int, organisation_id: int, *, now: datetime
) -> PointsEntry | None:
    """Expire one customer's lapsed points (idempotent: a second run finds nothing)."""
    with transaction.atomic():
        account = lock_loyalty_account(customer_id, organisation_id)
        lapsed = min(points_to_expire(customer_id, now), account.balance)
        if lapsed <= 0:
            return None
        customer = Customer(pk=customer_id, organisation_id=organisation_id)
        return _debit(customer, PointsKind.EXPIRE, lapsed)


def do_expire_points(
    *, now: datetime | None = None, organisation: Organisation | None = None
) -> int:
    """Expire every lapsed point (the daily job); returns the number of points expired."""
    now = now or timezone.now()
    rows = PointsEntry.objects.all()
    if organisation is not None:
        rows = rows.filter(organisation=organisation)
    candidates = (
        rows.values("customer_id", "organisation_id")
        .annotate(
            lapsing=Coalesce(Sum("points", filter=Q(expires_at__lte=now)), Value(0)),
            used=Coalesce(Sum("points", filter=Q(expires_at__isnull=True, points__lt=0)), Value(0)),
        )
        .filter(lapsing__gt=-F("used"))
    )
    total = 0
    # Read the candidates first: each is then expired in its own transaction, re-checked under lock.
    for row in list(candidates):
        entry = expire_points_of(row["customer_id"], row["organisation_id"], now=now)
        total += -entry.points if entry else 0
    return total


# --- merges ------------------------------------------------------------------------------------


def merge_accounts(keep: Customer, duplicate: Customer) -> None:
    """Move the duplicate's ledger, balance and owed points to the kept customer (inside the merge)."""
    org_id = keep.organisation_id
    for customer_id in sorted((keep.pk, duplicate.pk)):
        lock_loyalty_account(customer_id, org_id)
    dup = LoyaltyAccount.objects.get(pk=duplicate.pk)
    # The rows move with their history intact, so each customer's balance stays her ledger's sum.
    PointsEntry.objects.filter(customer_id=duplicate.pk).update(customer_id=keep.pk)
    LoyaltyAccount.objects.filter(pk=duplicate.pk).update(
        balance=F("balance") - dup.balance, debt=F("debt") - dup.debt
    )
    LoyaltyAccount.objects.filter(pk=keep.pk).update(
        balance=F("balance") + dup.balance, debt=F("debt") + dup.debt
    )
    kept = LoyaltyAccount.objects.get(pk=keep.pk)
    settle = min(kept.balance, kept.debt)
    if settle > 0:
        # Points held by one and owed by the other cancel out.
        LoyaltyAccount.objects.filter(pk=keep.pk, balance__gte=settle, debt__gte=settle).update(
            balance=F("balance") - settle, debt=F("debt") - settle
        )
        _append(
            kept,
            PointsKind.ADJUST,
            -settle,
            -settle,
            reason=_("Merged customers: points owed settled"),
        )
    evaluate_tier(keep.pk, org_id, reason="merge")
    evaluate_tier(duplicate.pk, org_id, reason="merge")
