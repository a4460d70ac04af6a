"""Message texts with {{ variables }}: the variables of one customer and a plain substitution.

Substitution is a regular expression over a fixed list of names, not a template language, so an
owner-written text can never reach the database or the settings; the values are plain strings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huitouke.customers.models import Customer
from huitouke.loyalty.models import LoyaltyAccount
from huitouke.loyalty.queries import tier_progress

# name -> (what it is, an example), shown beside the template editor.
VARIABLES: dict[str, tuple[Any, str]] = {
    "surname": (gettext_lazy("Surname"), "陈"),
    "name": (gettext_lazy("Full name"), "陈静"),
    "salutation": (gettext_lazy("Salutation"), "陈女士"),
    "tier": (gettext_lazy("Membership tier"), "银卡"),
    "points": (gettext_lazy("Points balance"), "1200"),
    "coupon_code": (gettext_lazy("Coupon code"), "7KQ2M9XR4TZB"),
    "coupon_value": (gettext_lazy("Coupon value"), "满200减50"),
    "store": (gettext_lazy("Store"), "万达店"),
    "next_tier": (gettext_lazy("Next tier"), "金卡"),
    "next_tier_gap": (gettext_lazy("Spend still needed for the next tier (yuan)"), "10"),
}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_BODY = 2000


def placeholders(text: str) -> list[str]:
    """The variable names a text uses, in order of first use."""
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(text or ""):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def check_text(text: str, field: str = "body") -> None:
    """Refuse unknown variables and over-long texts, naming them."""
    unknown = [name for name in placeholders(text) if name not in VARIABLES]
    if unknown:
        raise ValidationError(
            {
                field: _("Unknown variable(s): %(names)s. Use one of: %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(VARIABLES)}
            }
        )
    if len(text or "") > MAX_BODY:
        raise ValidationError({field: _("Use at most %(n)s characters.") % {"n": MAX_BODY}})


def render(text: str, variables: dict[str, str]) -> str:
    """Replace each {{ name }} by its value ('' for a value the customer does not have)."""
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), text or "")


def _plain(amount: Decimal) -> str:
    """10.00 -> "10", 9.50 -> "9.5"."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def customer_variables(customer: Customer, **extra: str) -> dict[str, str]:
    """Every variable's value for one customer; `extra` adds coupon_code / coupon_value."""

    account = LoyaltyAccount.objects.filter(pk=customer.pk).select_related("tier").first()
    progress = tier_progress(customer, now=timezone.now())
    tier = account.tier if account and account.tier else progress["tier"]
    store = customer.home_store or customer.organisation.stores.order_by("id").first()
    values = {
        "surname": customer.surname,
        "name": customer.name,
        "salutation": customer.salutation,
        "tier": tier.name if tier else "",
        "points": str(account.balance if account else 0),
        "coupon_code": "",
        "coupon_value": "",
        "store": store.name if store else "",
        "next_tier": progress["next_tier"].name if progress["next_tier"] else "",
        "next_tier_gap": _plain(progress["gap"]) if progress["next_tier"] else "",
    }
    values.update({key: str(value) for key, value in extra.items() if key in VARIABLES})
    return values
