"""Every write to orders, refunds, products and categories, and the upkeep of customer stats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Store
from huitouke.audit.actions import record_audit
from huitouke.customers.models import Customer, CustomerStats
from huitouke.sales.models import ZERO, Order, OrderLine, OrderSource, OrderStatus, Product, Refund

CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=14, decimal_places=2)

# Other apps (loyalty, automation) register callables here in their AppConfig.ready(). They run
# inside the order's transaction, after the customer's stats are refreshed; side effects that
# leave the database (messages) must use transaction.on_commit.
ORDER_PAID_HOOKS: list[Callable[[Order], None]] = []
ORDER_REFUNDED_HOOKS: list[Callable[[Order, Refund], None]] = []


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
            lock_customer(customer)
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
        for hook in ORDER_PAID_HOOKS:
            hook(order)
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
            lock_customer_id(order.customer_id)
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
        for hook in ORDER_REFUNDED_HOOKS:
            hook(fresh, refund)
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


def lock_customer(customer: Customer) -> None:
    lock_customer_id(customer.pk, customer.organisation_id)


def lock_customer_id(customer_id: int, organisation_id: int | None = None) -> None:
    # The stats row is the per-customer lock: on PostgreSQL concurrent orders for one customer
    # queue here, so each recomputation sees the others' committed orders. On SQLite the
    # IMMEDIATE transaction already serialises writers and select_for_update is a no-op.
    if organisation_id is None:
        organisation_id = Customer.objects.values_list("organisation_id", flat=True).get(
            pk=customer_id
        )
    CustomerStats.objects.get_or_create(
        customer_id=customer_id, defaults={"organisation_id": organisation_id}
    )
    list(
        CustomerStats.objects.select_for_update().filter(customer_id=customer_id).values_list("pk")
    )


_NET = ExpressionWrapper(F("net_paid") - F("refunded_amount"), output_field=MONEY)
_MARGIN = ExpressionWrapper(
    F("net_paid") - F("refunded_amount") - F("cost_amount") + F("refunded_cost"), output_field=MONEY
)


def stats_aggregates(now: datetime) -> dict[str, Any]:
    """The aggregate expressions over counted orders that make up CustomerStats."""
    return {
        "first": Min("placed_at"),
        "last": Max("placed_at"),
        "count": Count("id"),
        "spend": Coalesce(Sum(_NET), Value(ZERO), output_field=MONEY),
        "margin": Coalesce(Sum(_MARGIN), Value(ZERO), output_field=MONEY),
        "spend_12m": Coalesce(
            Sum(_NET, filter=Q(placed_at__gt=now - timedelta(days=365))),
            Value(ZERO),
            output_field=MONEY,
        ),
    }


# A local calendar day lasts at most 25 hours (a DST change), so every order of her last local
# day lies within this long before her last order.
_LONGEST_DAY = timedelta(hours=26)
VISIT_BATCH = 2000


def last_visit_categories(customer_ids: Sequence[int], time_zone: str) -> dict[int, set[int]]:
    """{customer: the categories bought on her last visit}: every counted order on the local
    date of her last counted order (lines still held, i.e. not fully returned).

    Per batch, one GROUP BY finds each customer's last order time on the (customer, status,
    placed_at) index, then a seek per customer reads her orders of the 26 hours before it
    and their lines; the exact local date is compared here.
    """
    zone = ZoneInfo(time_zone)
    qn = connection.ops.quote_name
    order, line = qn(Order._meta.db_table), qn(OrderLine._meta.db_table)
    if connection.vendor == "postgresql":
        since = "m.latest - INTERVAL '26 hours'"
    else:
        since = "datetime(m.latest, '-26 hours')"
    paid = OrderStatus.PAID.value
    found: dict[int, set[int]] = {}
    for lo in range(0, len(customer_ids), VISIT_BATCH):
        batch = list(customer_ids[lo : lo + VISIT_BATCH])
        marks = ", ".join(["%s"] * len(batch))
        sql = (
            f"SELECT o.customer_id, o.placed_at, m.latest, l.category_id FROM ("
            f"SELECT customer_id, MAX(placed_at) AS latest FROM {order}"
            f" WHERE status = %s AND customer_id IN ({marks}) GROUP BY customer_id) m"
            f" JOIN {order} o ON o.customer_id = m.customer_id AND o.status = %s"
            f" AND o.placed_at >= {since} AND o.placed_at <= m.latest"
            f" JOIN {line} l ON l.order_id = o.id"
            " WHERE l.category_id IS NOT NULL AND l.quantity > l.refunded_quantity"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [paid, *batch, paid])
            rows = cursor.fetchall()
        for customer_id, placed, latest, category_id in rows:
            if _aware(placed).astimezone(zone).date() == _aware(latest).astimezone(zone).date():
                found.setdefault(customer_id, set()).add(category_id)
    return found


def _aware(value: Any) -> datetime:
    """A datetime read by raw SQL as an aware datetime (SQLite hands back text or naive UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def refresh_customer_stats(customer_id: int, *, now: datetime | None = None) -> CustomerStats:
    """Recompute one customer's stats from her counted orders (call inside the order's transaction)."""
    now = now or timezone.now()
    agg = Order.objects.counted().filter(customer_id=customer_id).aggregate(**stats_aggregates(now))
    stats = CustomerStats.objects.select_related("organisation").get(customer_id=customer_id)
    last_categories: list[int] = []
    if agg["last"] is not None:
        found = last_visit_categories([customer_id], stats.organisation.time_zone)
        last_categories = sorted(found.get(customer_id, ()))
    count = agg["count"]
    stats.first_order_at = agg["first"]
    stats.last_order_at = agg["last"]
    stats.orders_count = count
    stats.net_spend = agg["spend"]
    stats.gross_margin = agg["margin"]
    stats.avg_order_value = (agg["spend"] / count).quantize(CENT) if count else ZERO
    stats.spend_12m = agg["spend_12m"]
    stats.last_order_categories = last_categories
    stats.save()
    return stats


def rebuild_stats(organisation: Organisation, *, now: datetime | None = None) -> int:
    """Recompute every customer's stats of an organisation in bulk (after imports and demo loads)."""
    now = now or timezone.now()
    rows: Any = (
        Order.objects.counted()
        .filter(organisation=organisation, customer__isnull=False)
        .values("customer_id")
        .annotate(**stats_aggregates(now))
    )
    by_customer = {r["customer_id"]: r for r in rows}
    last_cats = last_visit_categories(sorted(by_customer), organisation.time_zone)
    objs = []
    for cid in (
        Customer.objects.filter(organisation=organisation)
        .values_list("pk", flat=True)
        .iterator(chunk_size=20000)
    ):
        r = by_customer.get(cid)
        count = r["count"] if r else 0
        objs.append(
            CustomerStats(
                customer_id=cid,
                organisation=organisation,
                first_order_at=r["first"] if r else None,
                last_order_at=r["last"] if r else None,
                orders_count=count,
                net_spend=r["spend"] if r else ZERO,
                gross_margin=r["margin"] if r else ZERO,
                avg_order_value=(r["spend"] / count).quantize(CENT) if r and count else ZERO,
                spend_12m=r["spend_12m"] if r else ZERO,
                last_order_categories=sorted(last_cats.get(cid, ())),
                updated_at=now,
            )
        )
    with transaction.atomic():
        CustomerStats.objects.bulk_create(
            objs,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=[
                "first_order_at",
                "last_order_at",
                "orders_count",
                "net_spend",
                "gross_margin",
                "avg_order_value",
                "spend_12m",
                "last_order_categories",
                "updated_at",
            ],
        )
    return len(objs)
