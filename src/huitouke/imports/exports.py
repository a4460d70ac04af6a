"""Exports of customers (with the computed analytics columns) and orders to CSV or XLSX.

Customer rows carry her stats, her latest analytics (empty until `huitouke analytics refresh`
has run) and the organisation's archive fields (硬件/软件 …). They come in two forms: for people
(the default, in the user's language: 生命周期 流失, 性别 女, P(alive) as 93.0%, amounts in yuan
with two decimals), and machine-readable (`lang="en"`: the DESIGN §8 column names, codes such
as churned and f, numbers unrounded). Order rows are one per order line, with the order's net
paid spread over its lines, so an orders export re-imports into another organisation as the
same orders; they keep the machine-readable form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import get_language, override, pgettext_lazy
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.accounts.scoping import ALL
from huitouke.analytics.models import CustomerAnalytics, Lifecycle, RfmSegment
from huitouke.analytics.templatetags.analytics_tags import pct
from huitouke.audit.actions import record_audit
from huitouke.customers.models import Customer, CustomField, Gender, Source
from huitouke.customers.phones import national, phone_as_seen
from huitouke.imports.reports import Sink, write_table
from huitouke.sales.models import ZERO, Order, OrderLine
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

# The people's headers of CUSTOMER_COLUMNS (archive fields go by their own labels).
CUSTOMER_HEADERS = {
    "external_id": pgettext_lazy("export column", "Customer number"),
    "name": pgettext_lazy("export column", "Name"),
    "phone": pgettext_lazy("export column", "Mobile"),
    "lifecycle": pgettext_lazy("export column", "Lifecycle"),
    "rfm_r": pgettext_lazy("export column", "R score"),
    "rfm_f": pgettext_lazy("export column", "F score"),
    "rfm_m": pgettext_lazy("export column", "M score"),
    "rfm_segment": pgettext_lazy("export column", "RFM segment"),
    "value_class": pgettext_lazy("export column", "Value class"),
    "orders_count": pgettext_lazy("export column", "Orders"),
    "net_spend": pgettext_lazy("export column", "Total spend (yuan)"),
    "first_order_at": pgettext_lazy("export column", "First order"),
    "last_order_at": pgettext_lazy("export column", "Last order"),
    "p_alive": pgettext_lazy("export column", "P(alive)"),
    "expected_orders_90d": pgettext_lazy("export column", "Expected orders, next 90 days"),
    "predicted_clv": pgettext_lazy("export column", "Predicted 12-month value (yuan)"),
    "avg_order_value": pgettext_lazy("export column", "Average order value (yuan)"),
    "spend_12m": pgettext_lazy("export column", "Spend, last 12 months (yuan)"),
    "owner": pgettext_lazy("export column", "Owner"),
    "store": pgettext_lazy("export column", "Store"),
    "tags": pgettext_lazy("export column", "Tags"),
    "city": pgettext_lazy("export column", "City"),
    "birthday": pgettext_lazy("export column", "Birthday"),
    "gender": pgettext_lazy("export column", "Gender"),
    "wechat": pgettext_lazy("export column", "WeChat ID"),
    "email": pgettext_lazy("export column", "Email"),
    "source": pgettext_lazy("export column", "Source"),
    "created_at": pgettext_lazy("export column", "Created"),
    "id": pgettext_lazy("export column", "System number"),
}
# The machine-readable header of an archive field: its key under this prefix.
ARCHIVE_PREFIX = "custom."

KINDS = ("customers", "orders")
LANGS = ("zh", "en")
MACHINE, PEOPLE = "machine", "people"
FORMATS = ("csv", "xlsx")
CHUNK = 2000
CENT = Decimal("0.01")


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


def _phone(viewer: Any, customer: Customer | None) -> str:
    """The number as the exporter may see it (the one rule, customers.phones.phone_as_seen); the
    command line, run by whoever holds the server, writes it in full."""
    if customer is None or not customer.phone:
        return ""
    return national(customer.phone) if viewer is None else phone_as_seen(viewer, customer)


def export_form(lang: str | None = None) -> tuple[str, str]:
    """(form, language) of a customer export: ("machine", "en") for `lang="en"`, else
    ("people", the language code): Chinese for "zh", the active language for None."""
    if lang == "en":
        return MACHINE, "en"
    if lang == "zh":
        return PEOPLE, "zh-hans"
    if lang is None:
        return PEOPLE, get_language() or "zh-hans"
    raise ExportError(_("Choose the language of the export: zh or en."))


def archive_fields(organisation: Organisation) -> list[CustomField]:
    """The organisation's archive fields, in the order of the customer page."""
    return list(CustomField.objects.filter(organisation=organisation))


def customer_header(fields: list[CustomField], form: str = MACHINE) -> list[str]:
    """The customer export's header: CUSTOMER_COLUMNS, then one column per archive field."""
    if form == MACHINE:
        return [*CUSTOMER_COLUMNS, *(ARCHIVE_PREFIX + f.key for f in fields)]
    return [*(str(CUSTOMER_HEADERS[c]) for c in CUSTOMER_COLUMNS), *(f.label for f in fields)]


def _archive_value(value: Any, form: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        if form == MACHINE:
            return "true" if value else "false"
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return ("," if form == MACHINE else "、").join(str(v) for v in value)
    return value


def _for_people(row: list[Any]) -> list[Any]:
    """A machine-readable customer row (CUSTOMER_COLUMNS first) as people read it on screen."""
    values = dict(zip(CUSTOMER_COLUMNS, row, strict=False))
    labels = {
        "lifecycle": dict(Lifecycle.choices),
        "rfm_segment": dict(RfmSegment.choices),
        "gender": dict(Gender.choices),
        "source": dict(Source.choices),
    }
    for column, choices in labels.items():
        code = values[column]
        values[column] = str(choices.get(code, code)) if code else ""
    if values["p_alive"] is not None:
        values["p_alive"] = pct(values["p_alive"], 1)
    if values["expected_orders_90d"] is not None:
        values["expected_orders_90d"] = round(float(values["expected_orders_90d"]), 1)
    for column in ("net_spend", "predicted_clv", "avg_order_value", "spend_12m"):
        if values[column] is not None:
            values[column] = Decimal(values[column]).quantize(CENT)
    return [*(values[c] for c in CUSTOMER_COLUMNS), *row[len(CUSTOMER_COLUMNS) :]]


def customer_rows(
    organisation: Organisation,
    customers: QuerySet[Customer],
    fields: list[CustomField] | None = None,
    form: str = MACHINE,
    *,
    viewer: Any = None,
) -> Iterator[list[Any]]:
    """One row per customer in CUSTOMER_COLUMNS order, then her archive fields (`fields`).

    The people's form translates in the active language: write it inside translation.override.
    """
    fields = fields or []
    for row, custom in _customer_rows(organisation, customers, viewer):
        row += [_archive_value(custom.get(f.key), form) for f in fields]
        yield row if form == MACHINE else _for_people(row)


def _customer_rows(
    organisation: Organisation, customers: QuerySet[Customer], viewer: Any
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
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
            yield (
                [
                    c.external_id,
                    c.name,
                    _phone(viewer, c),
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
                ],
                c.custom if isinstance(c.custom, dict) else {},
            )


def order_rows(
    organisation: Organisation, orders: QuerySet[Order], *, viewer: Any = None
) -> Iterator[list[Any]]:
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
                    _phone(viewer, customer),
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
        raise ExportError("; ".join(message for _path, message in exc.errors)) from None


def do_export(
    sink: Sink,
    *,
    kind: str,
    fmt: str,
    organisation: Organisation,
    actor: Any,
    segment: int | None = None,
    request: HttpRequest | None = None,
    lang: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    job: int | None = None,
) -> int:
    """Write customers or orders (those `actor` may see, all for the CLI) and audit it as "export".

    Customers come in the user's language by default (`lang` None: the active language), or
    machine-readable with `lang="en"`. The audit entry names the export, its filters, language
    and row count (and the screen's export `job` that asked for it). `progress(done, total)` is
    called every PROGRESS_EVERY rows and at the end.
    """
    if kind not in KINDS:
        raise ExportError(_("Export customers or orders."))
    if fmt not in FORMATS:
        raise ExportError(_("Export to a .csv or .xlsx file."))
    form, language = export_form(lang) if kind == "customers" else (MACHINE, "en")
    lang = "en" if form == MACHINE else ("en" if language.startswith("en") else "zh")
    user = actor if getattr(actor, "pk", None) else None
    filters: dict[str, Any] = {}
    if segment is not None:
        filters["segment"] = segment
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
        if segment is not None:
            filters["segment_name"] = _segment_name(organisation, segment)
        fields = archive_fields(organisation)
        with override(language):
            header = customer_header(fields, form)
        rows = customer_rows(organisation, customers, fields, form, viewer=user)
        total = customers.count() if progress else 0
    else:
        if segment is not None:
            raise ExportError(_("Only customers can be exported by segment."))
        orders = Order.objects.visible_to(user) if user is not None else Order.objects.all()
        orders = orders.filter(organisation=organisation)
        header, rows = ORDER_COLUMNS, order_rows(organisation, orders, viewer=user)
        total = OrderLine.objects.filter(order__in=orders).count() if progress else 0
    if progress is not None:
        rows = _reporting(rows, total, progress)
    # No transaction around the writing: on SQLite it would hold the write lock for the whole
    # export. The audit entry follows once the file is complete.
    with override(language):  # the values of the people's form are translated as written
        count = write_table(sink, fmt, header, rows, kind)
    if progress is not None:
        progress(count, max(total, count))
    what = describe_export(kind, fmt, form, lang, filters, count)
    record_audit(
        actor=actor,
        organisation=organisation,
        action="export",
        request=request,
        object_repr=what,  # the audit page's "Object" column
        detail={
            "kind": kind,
            "format": fmt,
            "lang": lang,
            "form": form,
            "rows": count,
            "segment": segment,
            "filters": filters,
            "what": what,
            **({"job": job} if job is not None else {}),
        },
    )
    return count


PROGRESS_EVERY = 500


def _reporting(
    rows: Iterable[list[Any]], total: int, progress: Callable[[int, int], None]
) -> Iterator[list[Any]]:
    for done, row in enumerate(rows, start=1):
        yield row
        if done % PROGRESS_EVERY == 0:
            progress(done, max(total, done))


def _segment_name(organisation: Organisation, segment_id: int) -> str:

    return (
        Segment.objects.filter(organisation=organisation, pk=segment_id)
        .values_list("name", flat=True)
        .first()
        or ""
    )


def describe_export(
    kind: str, fmt: str, form: str, lang: str, filters: dict[str, Any], count: int
) -> str:
    """The export in one line for the audit log: which, in what form, which filter, how many rows."""
    what = _("Customers") if kind == "customers" else _("Orders")
    if form == MACHINE:
        described = _("machine-readable (English codes)")
    elif lang == "en":
        described = _("for people, in English")
    else:
        described = _("for people, in Chinese")
    text = _("%(what)s, %(format)s, %(form)s, %(count)s rows") % {
        "what": what,
        "format": "Excel" if fmt == "xlsx" else "CSV",
        "form": described,
        "count": count,
    }
    if filters.get("segment") is not None:
        text += " · " + _("segment “%(name)s”") % {
            "name": filters.get("segment_name") or filters["segment"]
        }
    return str(text)
