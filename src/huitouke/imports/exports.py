"""Exports of customers (with the computed analytics columns) and orders to CSV or XLSX.

Customer rows carry her stats and her latest analytics (empty until `huitouke analytics
refresh` has run). Order rows are one per order line, with the order's net paid spread over its
lines, so an orders export re-imports into another organisation as the same orders.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.accounts.scoping import ALL
from huitouke.analytics.models import CustomerAnalytics
from huitouke.audit.actions import record_audit
from huitouke.customers.models import Customer
from huitouke.customers.phones import national
from huitouke.imports.reports import Sink, write_table
from huitouke.sales.models import ZERO, Order
from huitouke.segments.compiler import SegmentError
from huitouke.segments.compiler import segment_customers as members
from huitouke.segments.models import Segment

CUSTOMER_COLUMNS = [
    "external_id",
    "name",
    "phone",
    "lifecycle",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "value_class",
    "orders_count",
    "net_spend",
    "first_order_at",
    "last_order_at",
    "p_alive",
    "expected_orders_90d",
    "predicted_clv",
    "avg_order_value",
    "spend_12m",
    "owner",
    "store",
    "tags",
    "city",
    "birthday",
    "gender",
    "wechat",
    "email",
    "source",
    "created_at",
    "id",
]

ORDER_COLUMNS = [
    "external_id",
    "placed_at",
    "customer_external_id",
    "customer_name",
    "phone",
    "product_name",
    "sku",
    "category",
    "quantity",
    "unit_price",
    "unit_cost",
    "amount",
    "store",
    "staff",
    "status",
    "refunded_amount",
    "note",
    "order_id",
]

KINDS = ("customers", "orders")
FORMATS = ("csv", "xlsx")
CHUNK = 2000


class ExportError(ValueError):
    """An export that cannot be made as asked (the message says why, for the user)."""


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


def _birthday(c: Customer) -> str:
    if not (c.birth_month and c.birth_day):
        return ""
    year = f"{c.birth_year}-" if c.birth_year else ""
    text = f"{year}{c.birth_month:02d}-{c.birth_day:02d}"
    if c.birthday_kind == "lunar":
        return ("农历" + ("闰" if c.birth_leap_month else "")) + text
    return text


def customer_rows(organisation: Organisation, customers: QuerySet[Customer]) -> Iterator[list[Any]]:
    """One row per customer in CUSTOMER_COLUMNS order."""
    zone = ZoneInfo(organisation.time_zone)
    qs = customers.select_related("stats", "owner", "home_store").order_by("pk")
    last = 0
    while True:
        # Keyset pages: memory stays flat however many customers there are.
        page = list(qs.filter(pk__gt=last)[:CHUNK])
        if not page:
            return
        last = page[-1].pk
        ids = [c.pk for c in page]
        analytics = {
            a.customer_id: a for a in CustomerAnalytics.objects.filter(customer_id__in=ids)
        }
        tags: dict[int, list[str]] = {}
        for customer_id, tag in Customer.tags.through.objects.filter(
            customer_id__in=ids
        ).values_list("customer_id", "tag__name"):
            tags.setdefault(customer_id, []).append(tag)
        for c in page:
            a = analytics.get(c.pk)
            s = getattr(c, "stats", None)
            yield [
                c.external_id,
                c.name,
                national(c.phone) if c.phone else "",
                a.lifecycle if a else "",
                a.r_score if a else None,
                a.f_score if a else None,
                a.m_score if a else None,
                a.rfm_segment if a else "",
                a.value_class if a else "",
                s.orders_count if s else 0,
                s.net_spend if s else ZERO,
                _local(s.first_order_at, zone) if s else None,
                _local(s.last_order_at, zone) if s else None,
                a.p_alive if a else None,
                a.expected_orders_90d if a else None,
                a.predicted_clv if a else None,
                s.avg_order_value if s else ZERO,
                s.spend_12m if s else ZERO,
                str(c.owner) if c.owner else "",
                c.home_store.name if c.home_store else "",
                ",".join(sorted(tags.get(c.pk, []))),
                c.city,
                _birthday(c),
                c.gender,
                c.wechat_id,
                c.email,
                c.source,
                _local(c.created_at, zone),
                c.pk,
            ]


def order_rows(organisation: Organisation, orders: QuerySet[Order]) -> Iterator[list[Any]]:
    """One row per order line in ORDER_COLUMNS order; `amount` is the line's share of net paid."""
    zone = ZoneInfo(organisation.time_zone)
    qs = (
        orders.select_related("customer", "store", "staff")
        .prefetch_related("lines__product", "lines__category")
        .order_by("pk")
    )
    last = 0
    while True:
        page = list(qs.filter(pk__gt=last)[:CHUNK])
        if not page:
            return
        last = page[-1].pk
        for order in page:
            lines = list(order.lines.all())
            shares = _shares(order.net_paid, [line.unit_price * line.quantity for line in lines])
            customer = order.customer
            for line, share in zip(lines, shares, strict=True):
                yield [
                    order.external_id or f"#{order.pk}",
                    _local(order.placed_at, zone),
                    customer.external_id if customer else "",
                    customer.name if customer else "",
                    national(customer.phone) if customer and customer.phone else "",
                    line.name,
                    line.product.sku if line.product else "",
                    line.category.name if line.category else "",
                    line.quantity,
                    line.unit_price,
                    line.unit_cost,
                    share,
                    order.store.name,
                    str(order.staff) if order.staff else "",
                    order.status,
                    order.refunded_amount,
                    order.note,
                    order.pk,
                ]


def _shares(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights`, in cents, adding up exactly (last takes the rest)."""
    if not weights:
        return []
    whole = sum(weights, ZERO)
    shares = []
    for weight in weights[:-1]:
        part = (total * weight / whole).quantize(Decimal("0.01")) if whole else ZERO
        shares.append(part)
    shares.append(total - sum(shares, ZERO))
    return shares


def segment_customers(
    organisation: Organisation, segment_id: int, *, scope: Any
) -> QuerySet[Customer]:
    """The members of segment `segment_id` within `scope`; ExportError when there is none."""

    segment = Segment.objects.filter(organisation=organisation, pk=segment_id).first()
    if segment is None:
        raise ExportError(_("There is no segment %(id)s.") % {"id": segment_id})
    try:
        return members(segment.definition, organisation, scope=scope)  # type: ignore[no-any-return]
    except SegmentError as exc:
        raise ExportError(str(exc)) from None


def do_export(
    sink: Sink,
    *,
    kind: str,
    fmt: str,
    organisation: Organisation,
    actor: Any,
    segment: int | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Write customers or orders (those `actor` may see, all for the CLI) and audit it as "export"."""
    if kind not in KINDS:
        raise ExportError(_("Export customers or orders."))
    if fmt not in FORMATS:
        raise ExportError(_("Export to a .csv or .xlsx file."))
    user = actor if getattr(actor, "pk", None) else None
    if kind == "customers":
        if segment is not None:
            customers = segment_customers(
                organisation, segment, scope=user if user is not None else ALL
            )
        elif user is not None:
            customers = Customer.objects.visible_to(user)
        else:
            customers = Customer.objects.active()
        customers = customers.filter(organisation=organisation)
        header, rows = CUSTOMER_COLUMNS, customer_rows(organisation, customers)
    else:
        if segment is not None:
            raise ExportError(_("Only customers can be exported by segment."))
        orders = Order.objects.visible_to(user) if user is not None else Order.objects.all()
        header, rows = (
            ORDER_COLUMNS,
            order_rows(organisation, orders.filter(organisation=organisation)),
        )
    # No transaction around the writing: on SQLite it would hold the write lock for the whole
    # export. The audit entry follows once the file is complete.
    count = write_table(sink, fmt, header, rows, kind)
    record_audit(
        actor=actor,
        organisation=organisation,
        action="export",
        request=request,
        detail={"kind": kind, "format": fmt, "rows": count, "segment": segment},
    )
    return count
