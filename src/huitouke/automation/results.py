"""Campaign results of a rule or campaign (DESIGN §5 "Campaign results").

- targeted: enrolments acted on that met the conditions (done + holdout + suppressed);
- treated: done; holdout: held out (never contacted); suppressed: nobody reachable;
- sent / delivered / failed / suppressed-by-reason: the rule's messages (fallbacks included);
- converters: treated enrolments followed by a counted order within the window (default 7
  days) after the first message sent (or, with none sent, after the enrolment acted); holdout
  enrolments are measured from the moment they were held out. The order that triggered the
  enrolment never counts. Revenue is that window's orders' net paid minus refunds;
- cost: the sent messages' unit costs plus the discounts of the rule's redeemed coupons;
- ROI = (attributed revenue − cost) / cost; uplift = treated minus holdout, for the conversion
  rate (with a 95% normal-approximation interval) and for revenue per enrolment.

Every figure counts only the customers the viewer may see (`viewer`, through
`accounts.scoping.customer_q`): a manager looking at the owner's organisation-wide rule gets the
results of her store's customers, the same people its list of enrolments shows her. Without a
viewer (the command line, organisation-wide jobs) it counts everyone the rule reached.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Min, Q, Sum

from huitouke.accounts.scoping import customer_q
from huitouke.automation.models import AutomationRule, Enrolment, EnrolmentStatus
from huitouke.loyalty.models import Coupon, CouponStatus
from huitouke.messaging.models import Message, MessageStatus
from huitouke.sales.models import Order

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
Z_95 = 1.959963984540054


@dataclass
class CampaignResults:
    """Every figure of a rule's results page."""

    targeted: int = 0
    treated: int = 0
    holdout: int = 0
    suppressed_customers: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    converters: int = 0
    holdout_converters: int = 0
    attributed_revenue: Decimal = ZERO
    holdout_revenue: Decimal = ZERO
    message_cost: Decimal = ZERO
    coupon_cost: Decimal = ZERO
    cost: Decimal = ZERO
    roi: Decimal | None = None
    conversion_rate: float | None = None
    holdout_conversion_rate: float | None = None
    uplift: float | None = None
    uplift_ci: tuple[float, float] | None = None
    revenue_per_customer: Decimal | None = None
    holdout_revenue_per_customer: Decimal | None = None
    revenue_uplift: Decimal | None = None
    window_days: int = 7


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def _per(amount: Decimal, n: int) -> Decimal | None:
    return (amount / n).quantize(CENT) if n else None


def rule_results(
    rule: AutomationRule, *, viewer: Any = None, window_days: int = 7
) -> CampaignResults:
    """The results of one rule (or campaign), computed from its enrolments, messages, coupons and
    orders, over the customers `viewer` may see (everyone the rule reached when None)."""

    result = CampaignResults(window_days=window_days)
    window = timedelta(days=window_days)
    seen = Q() if viewer is None else customer_q(viewer, "customer__")
    enrolments = list(
        Enrolment.objects.filter(
            seen,
            rule=rule,
            status__in=[EnrolmentStatus.DONE, EnrolmentStatus.HOLDOUT, EnrolmentStatus.SUPPRESSED],
        ).values_list("pk", "customer_id", "status", "acted_at", "event_order_id")
    )
    messages = Message.objects.filter(seen, rule=rule)
    by_status = dict(
        messages.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    result.sent = by_status.get(MessageStatus.SENT, 0)
    result.failed = by_status.get(MessageStatus.FAILED, 0)
    result.delivered = messages.filter(delivered_at__isnull=False).count()
    result.suppressed = dict(
        messages.filter(status=MessageStatus.SUPPRESSED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
        .order_by("reason")
    )
    result.message_cost = (
        messages.filter(status=MessageStatus.SENT).aggregate(total=Sum("cost"))["total"] or ZERO
    ).quantize(CENT)
    first_sent = dict(
        messages.filter(status=MessageStatus.SENT, sent_at__isnull=False, enrolment__isnull=False)
        .values("enrolment_id")
        .annotate(first=Min("sent_at"))
        .values_list("enrolment_id", "first")
    )

    # A subquery, not a list of ids: a big campaign's ids would overflow SQLite's parameters.
    coupons = Coupon.objects.filter(
        pk__in=Enrolment.objects.filter(seen, rule=rule, coupon__isnull=False).values("coupon_id")
    )
    result.coupons_issued = coupons.count()
    redeemed = coupons.filter(status=CouponStatus.REDEEMED)
    result.coupons_redeemed = redeemed.count()
    result.coupon_cost = (
        redeemed.aggregate(total=Sum("order__coupon_amount"))["total"] or ZERO
    ).quantize(CENT)
    result.cost = result.message_cost + result.coupon_cost

    # (customer, start of window, triggering order) per measured enrolment.
    measured: dict[str, list[tuple[int, datetime, int | None]]] = {"done": [], "holdout": []}
    for pk, customer_id, status, acted_at, event_order_id in enrolments:
        if status == EnrolmentStatus.SUPPRESSED:
            result.suppressed_customers += 1
            continue
        start = first_sent.get(pk) or acted_at
        if start is None:  # acted enrolments always have a time; never reached in practice
            continue
        group = "done" if status == EnrolmentStatus.DONE else "holdout"
        # Holdout customers were never contacted: their window opens when they were held out.
        measured[group].append((customer_id, start, event_order_id))
    result.treated, result.holdout = len(measured["done"]), len(measured["holdout"])
    result.targeted = result.treated + result.holdout + result.suppressed_customers

    everyone = measured["done"] + measured["holdout"]
    orders: dict[int, list[tuple[int, datetime, Decimal]]] = defaultdict(list)
    if everyone:
        earliest = min(start for _c, start, _o in everyone)
        latest = max(start for _c, start, _o in everyone) + window
        customer_ids = sorted({c for c, _s, _o in everyone})
        for chunk in range(0, len(customer_ids), 5000):
            rows = (
                Order.objects.counted()
                .filter(
                    customer_id__in=customer_ids[chunk : chunk + 5000],
                    placed_at__gt=earliest,
                    placed_at__lte=latest,
                )
                .annotate(net=F("net_paid") - F("refunded_amount"))
                .values_list("customer_id", "pk", "placed_at", "net")
            )
            for customer_id, order_id, placed_at, net in rows:
                orders[customer_id].append((order_id, placed_at, net))

    def convert(group: list[tuple[int, datetime, int | None]]) -> tuple[int, Decimal]:
        hits, revenue = 0, ZERO
        for customer_id, start, event_order_id in group:
            found = [
                net
                for order_id, placed_at, net in orders.get(customer_id, [])
                if start < placed_at <= start + window and order_id != event_order_id
            ]
            if found:
                hits += 1
                revenue += sum(found, ZERO)
        return hits, revenue.quantize(CENT)

    result.converters, result.attributed_revenue = convert(measured["done"])
    result.holdout_converters, result.holdout_revenue = convert(measured["holdout"])
    if result.cost:
        result.roi = ((result.attributed_revenue - result.cost) / result.cost).quantize(
            Decimal("0.0001")
        )
    result.conversion_rate = _rate(result.converters, result.treated)
    result.holdout_conversion_rate = _rate(result.holdout_converters, result.holdout)
    result.revenue_per_customer = _per(result.attributed_revenue, result.treated)
    result.holdout_revenue_per_customer = _per(result.holdout_revenue, result.holdout)
    if result.conversion_rate is not None and result.holdout_conversion_rate is not None:
        p1, n1 = result.conversion_rate, result.treated
        p0, n0 = result.holdout_conversion_rate, result.holdout
        result.uplift = p1 - p0
        spread = Z_95 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        result.uplift_ci = (result.uplift - spread, result.uplift + spread)
    if result.revenue_per_customer is not None and result.holdout_revenue_per_customer is not None:
        result.revenue_uplift = result.revenue_per_customer - result.holdout_revenue_per_customer
    return result
