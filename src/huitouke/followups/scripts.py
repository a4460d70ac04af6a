"""Call and WeChat scripts: a template filled in with the customer's data ("陈女士您好…").

Templates use Django's template language on a separate engine that knows only `{% if %}` and a
few harmless filters (no `{% load %}`, `{% include %}` or `{% debug %}`), and the context holds
plain strings and numbers, never model objects, so an owner-written script cannot reach into
the database or the settings. Scripts are plain text: no HTML escaping here; pages escape them
when they show them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError, ValidationError
from django.db.models import OuterRef, Subquery
from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from huitouke.customers.models import Customer
from huitouke.sales.models import Order, OrderLine, OrderStatus

MAX_LENGTH = 2000

# What a script may use, shown beside the script field. Values are strings or numbers.
VARIABLES: tuple[tuple[str, str], ...] = (
    ("salutation", "陈女士 / 陈先生"),
    ("surname", "陈"),
    ("name", "陈静"),
    ("store", "万达店"),
    ("staff", "小美"),
    ("last_purchase", "玻尿酸精华、面膜"),
    ("last_order_date", "2025-03-08"),
    ("days_since_last_order", "12"),
    ("orders_count", "3"),
    ("net_spend", "2680"),
    ("tier", "金卡"),
    ("points", "1200"),
    ("order_amount", "1280"),
    ("birthday", "03-08"),
)

# Each variable by the name people read (［称呼］), in the script field and its help.
LABELS: dict[str, Any] = {
    "salutation": pgettext_lazy("script variable", "Salutation"),
    "surname": pgettext_lazy("script variable", "Surname"),
    "name": pgettext_lazy("script variable", "Full name"),
    "store": pgettext_lazy("script variable", "Store"),
    "staff": pgettext_lazy("script variable", "Staff name"),
    "last_purchase": pgettext_lazy("script variable", "Last purchase"),
    "last_order_date": pgettext_lazy("script variable", "Last order date"),
    "days_since_last_order": pgettext_lazy("script variable", "Days since last order"),
    "orders_count": pgettext_lazy("script variable", "Orders"),
    "net_spend": pgettext_lazy("script variable", "Net spend"),
    "tier": pgettext_lazy("script variable", "Tier"),
    "points": pgettext_lazy("script variable", "Points"),
    "order_amount": pgettext_lazy("script variable", "Order amount"),
    "birthday": pgettext_lazy("script variable", "Birthday"),
}
_CODE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_WORD = re.compile(r"［([^［］\n]{1,30})］")


def readable(text: str) -> str:
    """A script as people edit it: each plain {{ variable }} as its name in brackets (［称呼］)."""

    def word(match: re.Match[str]) -> str:
        label = LABELS.get(match.group(1))
        return f"［{label}］" if label is not None else match.group(0)

    return _CODE.sub(word, text or "")


def from_readable(text: str) -> str:
    """The stored form of a script typed with ［称呼］ names (in any of the site's languages);
    a bracketed word that names no variable stays as typed."""
    names: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            names.update({str(label): name for name, label in LABELS.items()})

    def code(match: re.Match[str]) -> str:
        name = names.get(match.group(1).strip())
        return f"{{{{ {name} }}}}" if name else match.group(0)

    return _WORD.sub(code, text or "")


register = Library()
register.tag("if", defaulttags.do_if)
for _name in ("default", "floatformat", "truncatechars", "add", "cut", "upper", "lower"):
    register.filter(_name, getattr(defaultfilters, _name))


class ScriptEngine(Engine):
    """An engine whose only built-ins are the tags and filters registered in this module."""

    default_builtins = []


ENGINE = ScriptEngine(dirs=[], app_dirs=False, libraries={}, builtins=[__name__], autoescape=False)


def check_script(text: str) -> None:
    """Raise ValidationError (with the template error) when a script cannot be used."""
    if len(text) > MAX_LENGTH:
        raise ValidationError(
            _("Keep the script under %(n)s characters.") % {"n": MAX_LENGTH}, code="too_long"
        )
    try:
        ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            _("The script cannot be used: %(error)s") % {"error": exc}, code="syntax"
        ) from exc


def render_script(text: str, context: dict[str, Any]) -> str:
    """Fill a script with one customer's values; a broken template comes back as written."""
    try:
        return ENGINE.from_string(text).render(Context(context, autoescape=False)).strip()
    except TemplateSyntaxError:
        # Rules are validated when saved; a template broken another way must not stop the engine.
        return text


def _plain_amount(value: Any) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".")


def _loyalty(customer_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """Tier name and points per customer, when the loyalty app is installed (read defensively)."""
    if not apps.is_installed("huitouke.loyalty"):
        return {}
    try:
        account = apps.get_model("loyalty", "LoyaltyAccount")
        rows = account.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "tier__name", "balance"
        )
        return {cid: (tier or "", int(balance or 0)) for cid, tier, balance in rows}
    except (LookupError, FieldError):
        return {}


def script_contexts(
    customers: Iterable[Customer], *, as_of: date | None = None
) -> dict[int, dict[str, Any]]:
    """The script variables of each customer, in a few queries for the whole batch."""
    customers = list(customers)
    ids = [c.pk for c in customers]
    last_order = (
        Order.objects.filter(customer_id=OuterRef("pk"), status=OrderStatus.PAID)
        .order_by("-placed_at", "-id")
        .values("id")[:1]
    )
    last_ids = dict(
        Customer.objects.filter(pk__in=ids)
        .annotate(last_id=Subquery(last_order))
        .values_list("pk", "last_id")
    )
    orders = {
        o.pk: o
        for o in Order.objects.filter(pk__in=[i for i in last_ids.values() if i]).only(
            "id", "placed_at"
        )
    }
    items: dict[int, list[str]] = {}
    for order_id, name in OrderLine.objects.filter(order_id__in=list(orders)).values_list(
        "order_id", "name"
    ):
        if name not in items.setdefault(order_id, []):
            items[order_id].append(name)
    loyalty = _loyalty(ids)
    today = as_of or timezone.localdate()
    contexts: dict[int, dict[str, Any]] = {}
    for c in customers:
        stats = getattr(c, "stats", None)
        order = orders.get(last_ids.get(c.pk) or 0)
        last_day = timezone.localdate(order.placed_at) if order else None
        tier, points = loyalty.get(c.pk, ("", 0))
        contexts[c.pk] = {
            "salutation": c.salutation,
            "surname": c.surname,
            "name": c.name,
            "store": c.home_store.name if c.home_store_id and c.home_store else "",
            "staff": str(c.owner) if c.owner_id and c.owner else "",
            "last_purchase": "、".join(items.get(order.pk, [])[:3]) if order else "",
            "last_order_date": last_day.isoformat() if last_day else "",
            "days_since_last_order": (today - last_day).days if last_day else "",
            "orders_count": stats.orders_count if stats else 0,
            "net_spend": _plain_amount(stats.net_spend) if stats else "0",
            "tier": tier,
            "points": points,
            "order_amount": "",
            "birthday": f"{c.birth_month:02d}-{c.birth_day:02d}" if c.has_birthday else "",
        }
    return contexts


def render_for(text: str, customer: Customer, **extra: Any) -> str:
    """Render one script for one customer (extra values such as `staff` or `order_amount` win)."""
    context = script_contexts([customer])[customer.pk]
    context.update({k: v for k, v in extra.items() if v not in (None, "")})
    return render_script(text, context)
