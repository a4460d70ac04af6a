"""Reads for the loyalty screens, the API and automations: panels, gaps, usable coupons, template results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.customers.models import Customer
from huitouke.loyalty.checkout import current_tier
from huitouke.loyalty.models import (
    ZERO,
    Coupon,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
    Tier,
    TierChange,
    plain_amount,
)
from huitouke.loyalty.program import ensure_program, tier_for, trailing_spend

MONEY = DecimalField(max_digits=14, decimal_places=2)


def describe_template(template: CouponTemplate) -> str:
    """满150减30 / 无门槛减20 / 12% off, plus the category limit (CouponTemplate.describe)."""
    return template.describe()


def usable_coupons(customer: Customer, *, now: datetime | None = None) -> QuerySet[Coupon]:
    """Her coupons that can be used right now, soonest to expire first."""
    now = now or timezone.now()
    return (
        Coupon.objects.filter(
            customer=customer, status=CouponStatus.ISSUED, valid_from__lte=now, expires_at__gt=now
        )
        .select_related("template")
        .prefetch_related("template__categories")
        .order_by("expires_at", "id")
    )


def coupon_state(coupon: Coupon, now: datetime) -> str:
    """usable / upcoming / redeemed / void / expired, with the dates taken into account."""
    if coupon.status != CouponStatus.ISSUED:
        return str(coupon.status)
    if coupon.expires_at <= now:
        return CouponStatus.EXPIRED.value
    return "usable" if coupon.valid_from <= now else "upcoming"


def gap_message(next_tier: Tier | None, gap: Decimal) -> str:
    """再消费10元即可升级金卡 (empty at the top tier)."""
    if next_tier is None:
        return ""
    return _("Spend %(amount)s yuan more to reach %(tier)s") % {
        "amount": plain_amount(gap),
        "tier": next_tier.name,
    }


def tier_progress(customer: Customer, *, now: datetime | None = None) -> dict[str, Any]:
    """Her tier by trailing-12-month spend, the next tier and the spend still needed to reach it."""
    now = now or timezone.now()
    tiers = sorted(
        Tier.objects.filter(organisation_id=customer.organisation_id), key=lambda t: t.threshold
    )
    spend = trailing_spend(customer.pk, now)
    following = next((t for t in tiers if t.threshold > spend), None)
    gap = max(following.threshold - spend, ZERO) if following else ZERO
    return {
        "tier": tier_for(tiers, spend),
        "next_tier": following,
        "spend_12m": spend,
        "gap": gap,
        "gap_message": gap_message(following, gap),
    }


def customer_panel_context(
    customer: Customer, *, now: datetime | None = None, history: int = 20
) -> dict[str, Any]:
    """Everything the customer page's membership panel shows: tier, gap, points and their history, coupons."""
    now = now or timezone.now()
    account = LoyaltyAccount.objects.filter(pk=customer.pk).select_related("tier").first()
    progress = tier_progress(customer, now=now)
    coupons = list(
        Coupon.objects.filter(customer=customer)
        .select_related("template", "order")
        .prefetch_related("template__categories")
        .order_by("-issued_at", "-id")[:50]
    )
    for coupon in coupons:
        coupon.state = coupon_state(coupon, now)  # type: ignore[attr-defined]
    return {
        "loyalty_customer": customer,
        "loyalty_account": account,
        # The tier held on the account (updated on each order and nightly); before her first order, by spend.
        "loyalty_tier": account.tier if account and account.tier else progress["tier"],
        "loyalty_next_tier": progress["next_tier"],
        "loyalty_spend_12m": progress["spend_12m"],
        "loyalty_gap": progress["gap"],
        "loyalty_gap_message": progress["gap_message"],
        "loyalty_points": account.balance if account else 0,
        "loyalty_debt": account.debt if account else 0,
        "loyalty_history": list(
            PointsEntry.objects.filter(customer=customer)
            .select_related("order", "actor")
            .order_by("-created_at", "-id")[:history]
        ),
        "loyalty_coupons": coupons,
        "loyalty_usable_coupons": [c for c in coupons if c.state == "usable"],  # type: ignore[attr-defined]
        "loyalty_tier_changes": list(TierChange.objects.filter(customer=customer)[:5]),
        "loyalty_issue_templates": list(
            CouponTemplate.objects.filter(
                organisation_id=customer.organisation_id, is_active=True
            ).order_by("name")
        ),
    }


_ORDER_NET = ExpressionWrapper(
    F("coupons__order__net_paid") - F("coupons__order__refunded_amount"), output_field=MONEY
)


def template_results(organisation_id: int) -> QuerySet[CouponTemplate]:
    """Coupon templates with issued / redeemed / expired / voided counts and their redeeming orders' revenue."""
    redeemed = Q(coupons__status=CouponStatus.REDEEMED)
    return (
        CouponTemplate.objects.filter(organisation_id=organisation_id)
        .select_related("min_tier")
        .prefetch_related("categories")
        .annotate(
            n_issued=Count("coupons"),
            n_redeemed=Count("coupons", filter=redeemed),
            n_expired=Count("coupons", filter=Q(coupons__status=CouponStatus.EXPIRED)),
            n_void=Count("coupons", filter=Q(coupons__status=CouponStatus.VOID)),
            revenue=Coalesce(
                Sum(_ORDER_NET, filter=redeemed & Q(coupons__order__isnull=False)),
                Value(ZERO),
                output_field=MONEY,
            ),
        )
        .order_by("-created_at", "-id")
    )


def ledger_totals(customer_id: int) -> dict[str, int]:
    """The sums of her ledger (points and debt), to compare with the account."""
    agg = PointsEntry.objects.filter(customer_id=customer_id).aggregate(
        points=Coalesce(Sum("points"), Value(0)), debt=Coalesce(Sum("debt"), Value(0))
    )
    return {"points": int(agg["points"]), "debt": int(agg["debt"])}


def checkout_context(customer: Customer | None) -> dict[str, Any]:
    """What the quick order shows for a chosen customer: her usable coupons, points and tier."""

    if customer is None:
        return {}
    rules = ensure_program(customer.organisation_id)
    account = LoyaltyAccount.objects.filter(pk=customer.pk).first()
    return {
        "checkout_customer": customer,
        "checkout_coupons": list(usable_coupons(customer)),
        "checkout_points": account.balance if account else 0,
        "checkout_rate": rules.points_per_yuan_redeemed,
        "checkout_share": rules.max_points_share,
        "checkout_tier": current_tier(customer, timezone.now()),
    }


def order_points_message(order: Any) -> str:
    """“Points: +120 earned, −500 used; balance 1,620.” after an order (empty for walk-ins)."""
    if order.customer_id is None:
        return ""
    entries = PointsEntry.objects.filter(order=order)
    earned = sum(e.points - e.debt for e in entries if e.kind == "earn")
    used = -sum(e.points for e in entries if e.kind == "redeem")
    account = LoyaltyAccount.objects.filter(pk=order.customer_id).first()
    if not earned and not used:
        return ""
    return _("Points: +%(earned)s earned, −%(used)s used; balance %(balance)s.") % {
        "earned": earned,
        "used": used,
        "balance": account.balance if account else 0,
    }
