"""Every write to orders, refunds, products and categories, and the upkeep of customer stats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    F,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.audit.actions import record_audit
from huitouke.core.locks import lock_customer_stats
from huitouke.customers.models import Customer
from huitouke.sales import events
from huitouke.sales.models import (
    ZERO,
    Category,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Product,
    Refund,
)
from huitouke.sales.phases import check_windows
from huitouke.sales.stats import CENT, refresh_customer_stats


@dataclass
class LineInput:
    """One line of an order being recorded; price and cost default to the product's."""

    quantity: int
    product: Product | None = None
    name: str = ""
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception as exc:
        raise ValidationError(
            {field: _("“%(value)s” is not an amount.") % {"value": value}}
        ) from exc
    if amount < 0:
        raise ValidationError(
            {field: _("The amount cannot be negative (got %(value)s).") % {"value": value}}
        )
    return amount


def do_record_order(
    *,
    organisation: Organisation,
    store: Store,
    customer: Customer | None,
    lines: Sequence[LineInput],
    actor: Any,
    staff: Any = None,
    placed_at: datetime | None = None,
    discount: Decimal | int | str = ZERO,
    coupon_amount: Decimal | int | str = ZERO,
    points_used: int = 0,
    points_amount: Decimal | int | str = ZERO,
    net_paid: Decimal | int | str | None = None,
    source: str = OrderSource.STORE,
    external_id: str = "",
    note: str = "",
) -> Order:
    """Record a paid order with its lines and update the customer's stats in the same transaction."""
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one item.")})
    if store.organisation_id != organisation.pk:
        raise ValidationError({"store": _("This store belongs to another organisation.")})
    if customer is not None and customer.organisation_id != organisation.pk:
        raise ValidationError({"customer": _("This customer belongs to another organisation.")})
    if staff is not None and staff.organisation_id != organisation.pk:
        raise ValidationError({"staff": _("This staff member belongs to another organisation.")})

    built: list[OrderLine] = []
    for index, line in enumerate(lines, start=1):
        if line.product is not None and line.product.organisation_id != organisation.pk:
            raise ValidationError({"lines": _("Line %(n)s: unknown product.") % {"n": index}})
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or line.quantity <= 0
        ):
            raise ValidationError(
                {
                    "lines": _(
                        "Line %(n)s: the quantity must be a whole number above 0 (got %(value)s)."
                    )
                    % {"n": index, "value": line.quantity}
                }
            )
        name = line.name or (line.product.name if line.product else "")
        if not name:
            raise ValidationError(
                {"lines": _("Line %(n)s: choose a product or type the item's name.") % {"n": index}}
            )
        price = (
            line.unit_price
            if line.unit_price is not None
            else (line.product.price if line.product else None)
        )
        if price is None:
            raise ValidationError(
                {"lines": _("Line %(n)s: the unit price is missing.") % {"n": index}}
            )
        cost = (
            line.unit_cost
            if line.unit_cost is not None
            else (line.product.cost if line.product else ZERO)
        )
        built.append(
            OrderLine(
                product=line.product,
                category_id=line.product.category_id if line.product else None,
                name=name[:100],
                quantity=line.quantity,
                unit_price=_money(price, "unit_price"),
                unit_cost=_money(cost, "unit_cost"),
            )
        )

    gross = sum((b.unit_price * b.quantity for b in built), ZERO)
    cost_amount = sum((b.unit_cost * b.quantity for b in built), ZERO)
    discount_d = _money(discount, "discount")
    coupon_d = _money(coupon_amount, "coupon_amount")
    points_d = _money(points_amount, "points_amount")
    computed_net = gross - discount_d - coupon_d - points_d
    if computed_net < 0:
        raise ValidationError(
            {
                "discount": _("Discounts (¥%(d)s) exceed the order amount (¥%(g)s).")
                % {"d": discount_d + coupon_d + points_d, "g": gross}
            }
        )
    net = computed_net if net_paid is None else _money(net_paid, "net_paid")

    with transaction.atomic():
        if customer is not None:
            lock_customer_stats(customer.pk, customer.organisation_id)
        order = Order.objects.create(
            organisation=organisation,
            store=store,
            customer=customer,
            staff=staff,
            placed_at=placed_at or timezone.now(),
            status=OrderStatus.PAID,
            gross_amount=gross,
            discount_amount=discount_d,
            coupon_amount=coupon_d,
            points_used=points_used,
            points_amount=points_d,
            net_paid=net,
            cost_amount=cost_amount,
            source=source,
            external_id=external_id,
            note=note[:200],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for b in built:
            b.order = order
        OrderLine.objects.bulk_create(built)
        if customer is not None:
            refresh_customer_stats(customer.pk)
        events.order_paid.send(sender=Order, order=order)
    return order


def do_refund_order(
    *,
    order: Order,
    actor: Any,
    amount: Decimal | int | str | None = None,
    lines: Iterable[tuple[int, int]] = (),
    reason: str = "",
    external_id: str = "",
    request: Any = None,
) -> Refund:
    """Refund an order in whole (no amount) or in part; stats and the audit log follow in one transaction."""
    line_list = list(lines)
    with transaction.atomic():
        if order.customer_id is not None:
            lock_customer_stats(order.customer_id)
        # Re-read inside the transaction so two refunds never both pass the remaining-amount check.
        fresh = Order.objects.select_for_update().get(pk=order.pk)
        if fresh.status != OrderStatus.PAID:
            raise ValidationError({"order": _("This order is already fully refunded or closed.")})
        remaining = fresh.net_paid - fresh.refunded_amount
        refund_cost = ZERO
        line_records: list[dict[str, int]] = []
        by_id = {line.pk: line for line in fresh.lines.all()}
        for line_id, qty in line_list:
            line = by_id.get(line_id)
            if line is None:
                raise ValidationError(
                    {"lines": _("Line %(id)s is not part of this order.") % {"id": line_id}}
                )
            if qty <= 0 or line.refunded_quantity + qty > line.quantity:
                raise ValidationError(
                    {
                        "lines": _("Line “%(name)s”: cannot refund %(qty)s.")
                        % {"name": line.name, "qty": qty}
                    }
                )
            refund_cost += line.unit_cost * qty
            line_records.append({"line_id": line_id, "quantity": qty})
        if amount is None:
            value = (
                remaining
                if not line_list
                else min(remaining, sum((by_id[i].unit_price * q for i, q in line_list), ZERO))
            )
            if not line_list:
                refund_cost = fresh.cost_amount - fresh.refunded_cost
        else:
            value = _money(amount, "amount")
        if value <= 0:
            raise ValidationError({"amount": _("The refund amount must be above 0.")})
        if value > remaining:
            raise ValidationError(
                {
                    "amount": _(
                        "The refund (¥%(value)s) exceeds what is left on the order (¥%(left)s)."
                    )
                    % {"value": value, "left": remaining}
                }
            )
        for record in line_records:
            OrderLine.objects.filter(pk=record["line_id"]).update(
                refunded_quantity=F("refunded_quantity") + record["quantity"]
            )
        refund = Refund.objects.create(
            organisation_id=fresh.organisation_id,
            order=fresh,
            amount=value,
            cost=refund_cost,
            lines=line_records,
            reason=reason[:200],
            external_id=external_id,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        fresh.refunded_amount += value
        fresh.refunded_cost = min(fresh.cost_amount, fresh.refunded_cost + refund_cost)
        if fresh.refunded_amount == fresh.net_paid:
            fresh.status = OrderStatus.REFUNDED
            fresh.refunded_cost = fresh.cost_amount
        fresh.save(update_fields=["refunded_amount", "refunded_cost", "status", "updated_at"])
        if fresh.customer_id is not None:
            refresh_customer_stats(fresh.customer_id)
        events.order_refunded.send(sender=Order, order=fresh, refund=refund)
        record_audit(
            actor=actor,
            organisation=fresh.organisation,
            action="refund",
            target=fresh,
            request=request,
            detail={"amount": str(value)},
        )
    order.refresh_from_db()
    return refund


# --- the catalogue: categories and products, one validation for the screens and the API ---------

PHASE_FIELDS = ("phase_use_from", "phase_end_from", "phase_dormant_from")
CATEGORY_FIELDS = ("name", "cycle_days", *PHASE_FIELDS)
PRODUCT_FIELDS = (
    "name",
    "sku",
    "category",
    "category_id",
    "price",
    "cost",
    "use_cycle_days",
    *PHASE_FIELDS,
    "is_active",
)


def check_phase_days(use_from: int | None, end_from: int | None, dormant_from: int | None) -> None:
    """The three phase days of a category or product: all or none, rising (forms call it too)."""
    try:
        check_windows(use_from, end_from, dormant_from)
    except ValueError as exc:
        raise ValidationError(
            {
                "phase_end_from": _(
                    "Give all three days, or leave all three blank for the template: "
                    "in use < running out < dormant."
                )
            }
        ) from exc


def do_save_category(
    category: Category, *, actor: Any, request: Any = None, **fields: Any
) -> Category:
    """Create or change a category (its organisation set); validated, audited."""
    return _save_catalogue_item(category, fields, CATEGORY_FIELDS, "name", actor, request)


def do_save_product(product: Product, *, actor: Any, request: Any = None, **fields: Any) -> Product:
    """Create or change a product (its organisation set); validated, audited."""
    return _save_catalogue_item(product, fields, PRODUCT_FIELDS, "sku", actor, request)


def _save_catalogue_item(
    obj: Any,
    fields: dict[str, Any],
    allowed: Sequence[str],
    unique: str,
    actor: Any,
    request: Any,
) -> Any:
    """Set `fields`, check them, save and audit; `unique` names the field unique per organisation."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"not a field of {type(obj).__name__}: {', '.join(sorted(unknown))}")
    for key, value in fields.items():
        setattr(obj, key, value.strip() if key in ("name", "sku") and value else value)
    check_phase_days(*(getattr(obj, name) for name in PHASE_FIELDS))
    category_id = getattr(obj, "category_id", None)
    if (
        category_id is not None
        and not Category.objects.filter(
            organisation_id=obj.organisation_id, pk=category_id
        ).exists()
    ):
        raise ValidationError({"category": _("Unknown category.")})
    obj.full_clean(
        exclude=["organisation", "category"], validate_unique=False, validate_constraints=False
    )
    value = getattr(obj, unique)
    in_use = ValidationError({unique: _("“%(value)s” is already in use.") % {"value": value}})
    clash = (
        type(obj)
        ._default_manager.filter(organisation_id=obj.organisation_id, **{unique: value})
        .exclude(pk=obj.pk)
    )
    if value and clash.exists():
        raise in_use
    created = obj.pk is None
    try:
        with transaction.atomic():
            obj.save()
            record_audit(
                actor=actor,
                organisation=obj.organisation,
                action="category_save" if isinstance(obj, Category) else "product_save",
                target=obj,
                request=request,
                detail={"created": created, "fields": sorted(fields)},
            )
    except IntegrityError as exc:
        # Two people saving the same name at the same moment: the unique constraint decides.
        raise in_use from exc
    return obj


# The categories a new shop of each trade starts with, with their usual repurchase cycle in days
# (seed 001/002: masks a month, skincare two months; apparel a season, outerwear half a year).
INDUSTRY_CATEGORIES: dict[str, tuple[tuple[str, int], ...]] = {
    "beauty": (("面部护理", 30), ("身体护理", 30), ("护肤品", 60), ("面膜", 30)),
    "cosmetics": (("护肤品", 60), ("面膜", 30), ("彩妆", 90), ("香水", 180)),
    "apparel": (("上装", 90), ("下装", 90), ("外套", 180), ("配饰", 120)),
    "personal_shopper": (("当季搭配", 90), ("换季衣橱", 180)),
    "other": (),
}


def do_apply_category_template(
    organisation: Organisation, industry: str, *, actor: Any, request: Any = None
) -> int:
    """Create the trade's usual categories with their cycles; existing names are left alone."""
    taken = set(Category.objects.filter(organisation=organisation).values_list("name", flat=True))
    created = 0
    with transaction.atomic():
        for name, cycle in INDUSTRY_CATEGORIES.get(industry, ()):
            if name in taken:
                continue
            do_save_category(
                Category(organisation=organisation),
                actor=actor,
                request=request,
                name=name,
                cycle_days=cycle,
            )
            created += 1
    return created
