"""Pricing an order with member benefits, and recording it: tier discount, coupon, points.

The order of the benefits: the tier discount on the whole order, then the staff's own discount,
then one coupon (its threshold measured on the eligible items after those discounts), then
points, at most the organisation's share of what is left. The same `quote_checkout` feeds the
quick order's live summary and `do_checkout`, so the screen and the books never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.core.locks import lock_customer_stats, lock_loyalty_account
from huitouke.customers.models import Customer
from huitouke.loyalty import coupons
from huitouke.loyalty.actions import do_redeem_points
from huitouke.loyalty.models import ZERO, Coupon, CouponKind, LoyaltyAccount, LoyaltySettings, Tier
from huitouke.loyalty.program import ensure_program, tier_for, trailing_spend
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Order, OrderSource

CENT = Decimal("0.01")


@dataclass
class Quote:
    """What an order costs the customer with her benefits; `errors` by form field, empty when usable."""

    gross: Decimal = ZERO
    tier: Tier | None = None
    tier_discount: Decimal = ZERO
    discount: Decimal = ZERO
    coupon: Coupon | None = None
    coupon_amount: Decimal = ZERO
    points_balance: int = 0
    points_used: int = 0
    points_amount: Decimal = ZERO
    max_points: int = 0
    points_per_yuan_redeemed: int = 100
    net: Decimal = ZERO
    errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)


def _money(value: Any) -> Decimal | None:
    """The amount in yuan and fen, or None when it is not a finite number."""
    try:
        amount = Decimal(str(value if value not in (None, "") else 0)).quantize(CENT)
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None


def _line_amounts(lines: Sequence[LineInput]) -> list[tuple[Decimal, int | None]]:
    """(amount, category id) per line, priced as do_record_order prices them."""
    priced = []
    for line in lines:
        price = (
            line.unit_price
            if line.unit_price is not None
            else (line.product.price if line.product else None)
        )
        quantity = line.quantity if isinstance(line.quantity, int) and line.quantity > 0 else 0
        amount = (_money(price) or ZERO) * quantity
        priced.append((amount, line.product.category_id if line.product else None))
    return priced


def current_tier(customer: Customer, now: datetime) -> Tier | None:
    """Her tier as held on her account (computed from her spend when she has no account yet)."""
    account = LoyaltyAccount.objects.select_related("tier").filter(pk=customer.pk).first()
    if account is not None and account.tier is not None:
        return account.tier
    return tier_for(
        list(Tier.objects.filter(organisation_id=customer.organisation_id)),
        trailing_spend(customer.pk, now),
    )


def _coupon_amount(
    quote: Quote, coupon: Coupon, priced: list[tuple[Decimal, int | None]], after_discounts: Decimal
) -> Decimal:
    template = coupon.template
    category_ids = set(template.categories.values_list("pk", flat=True))
    if category_ids and quote.gross > 0:
        eligible = sum((amount for amount, category in priced if category in category_ids), ZERO)
        # The order's discounts are shared over the lines in proportion to their amounts.
        base = (after_discounts * eligible / quote.gross).quantize(CENT, rounding=ROUND_DOWN)
    else:
        base = after_discounts
    if category_ids and base <= 0:
        names = "、".join(template.categories.values_list("name", flat=True))
        quote.refuse(
            "coupon",
            _("None of the items is in this coupon's categories (%(names)s).") % {"names": names},
        )
        return ZERO
    if base < template.threshold:
        quote.refuse(
            "coupon",
            _(
                "This coupon needs a spend of ¥%(threshold)s on eligible items; this order has ¥%(base)s."
            )
            % {"threshold": template.threshold, "base": base},
        )
        return ZERO
    if template.kind == CouponKind.PERCENT_OFF:
        amount = (base * (template.percent_off or ZERO) / 100).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        if template.max_discount is not None:
            amount = min(amount, template.max_discount)
    else:
        amount = template.amount or ZERO
    return min(amount, base)


def quote_checkout(
    *,
    organisation: Organisation,
    customer: Customer | None,
    lines: Sequence[LineInput],
    discount: Any = ZERO,
    coupon_code: str = "",
    points: Any = 0,
    now: datetime | None = None,
) -> Quote:
    """Price an order with the customer's tier discount, a coupon and points, checking each."""
    now = now or timezone.now()
    rules: LoyaltySettings = ensure_program(organisation)
    quote = Quote(points_per_yuan_redeemed=rules.points_per_yuan_redeemed)
    priced = _line_amounts(lines)
    quote.gross = sum((amount for amount, _category in priced), ZERO)
    if customer is not None:
        quote.tier = current_tier(customer, now)
        account = LoyaltyAccount.objects.filter(pk=customer.pk).first()
        quote.points_balance = account.balance if account else 0
    if quote.tier is not None and quote.tier.price_rate < 1:
        quote.tier_discount = (quote.gross * (1 - quote.tier.price_rate)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    parsed = _money(discount)
    if parsed is None or parsed < 0:
        message = (
            _("The amount cannot be negative (got %(value)s).")
            if parsed is not None
            else _("“%(value)s” is not an amount.")
        )
        quote.refuse("discount", message % {"value": discount})
    quote.discount = parsed if parsed is not None and parsed >= 0 else ZERO
    after_discounts = quote.gross - quote.tier_discount - quote.discount
    if after_discounts < 0:
        quote.refuse(
            "discount",
            _("Discounts (¥%(d)s) exceed the order amount (¥%(g)s).")
            % {"d": quote.tier_discount + quote.discount, "g": quote.gross},
        )
        after_discounts = ZERO

    code = (coupon_code or "").strip()
    if code:
        try:
            coupon = coupons.find_coupon(organisation.pk, code)
        except ValidationError as exc:
            quote.refuse("coupon", " ".join(exc.messages))
        else:
            reason = coupons.refusal(coupon, customer, now)
            if reason:
                quote.refuse("coupon", reason)
            else:
                quote.coupon = coupon
                quote.coupon_amount = _coupon_amount(quote, coupon, priced, after_discounts)
                if "coupon" in quote.errors:
                    quote.coupon = None

    payable = after_discounts - quote.coupon_amount
    rate = rules.points_per_yuan_redeemed
    max_amount = (payable * rules.max_points_share / 100).quantize(CENT, rounding=ROUND_DOWN)
    quote.max_points = min(
        int((max_amount * rate).to_integral_value(rounding=ROUND_FLOOR)), quote.points_balance
    )
    requested = points if points not in (None, "") else 0
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        quote.refuse(
            "points",
            _("The points must be a whole number of 0 or more (got %(value)s).")
            % {"value": points},
        )
    elif requested > 0:
        if customer is None:
            quote.refuse("points", _("Coupons and points need a customer: enter her phone."))
        elif requested > quote.points_balance:
            quote.refuse(
                "points",
                _("She has %(balance)s points; %(points)s requested.")
                % {"balance": quote.points_balance, "points": requested},
            )
        else:
            amount = (Decimal(requested) / rate).quantize(CENT, rounding=ROUND_DOWN)
            if amount > max_amount:
                quote.refuse(
                    "points",
                    _(
                        "Points can pay at most %(share)s%% of this order: ¥%(amount)s, %(points)s points."
                    )
                    % {
                        "share": rules.max_points_share,
                        "amount": max_amount,
                        "points": quote.max_points,
                    },
                )
            else:
                quote.points_used, quote.points_amount = requested, amount
    quote.net = payable - quote.points_amount
    return quote


def do_checkout(
    *,
    organisation: Organisation,
    store: Store,
    customer: Customer | None,
    lines: Sequence[LineInput],
    actor: Any,
    staff: Any = None,
    discount: Any = ZERO,
    coupon_code: str = "",
    points: int = 0,
    note: str = "",
    placed_at: datetime | None = None,
    source: str = OrderSource.STORE,
) -> Order:
    """Record an order with the tier discount, a coupon and points, all in one transaction or none."""
    with transaction.atomic():
        now = timezone.now()
        if customer is not None:
            # Stats row, then loyalty account: the lock order every order and refund uses, so the
            # balance checked below cannot change before the points are taken.
            lock_customer_stats(customer.pk, customer.organisation_id)
            lock_loyalty_account(customer.pk, customer.organisation_id)
        quote = quote_checkout(
            organisation=organisation,
            customer=customer,
            lines=lines,
            discount=discount,
            coupon_code=coupon_code,
            points=points,
            now=now,
        )
        if quote.errors:
            raise ValidationError(quote.errors)
        if quote.coupon is not None and customer is not None:
            coupons.claim(quote.coupon, customer=customer, now=now)
        order = do_record_order(
            organisation=organisation,
            store=store,
            customer=customer,
            lines=lines,
            actor=actor,
            staff=staff,
            placed_at=placed_at,
            discount=quote.tier_discount + quote.discount,
            coupon_amount=quote.coupon_amount,
            points_used=quote.points_used,
            points_amount=quote.points_amount,
            source=source,
            note=note,
        )
        if quote.coupon is not None:
            Coupon.objects.filter(pk=quote.coupon.pk).update(order=order, updated_at=timezone.now())
            if customer is not None:
                coupons.redeemed(quote.coupon, order)
        if quote.points_used and customer is not None:
            do_redeem_points(customer, points=quote.points_used, actor=actor, order=order)
    return order
