"""Message texts with {{ variables }}: the variables of one customer and a plain substitution.

Substitution is a regular expression over a fixed list of names, not a template language, so an
owner-written text can never reach the database or the settings; the values are plain strings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

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


_WORD = re.compile(r"［([^［］\n]{1,40})］")


def readable(text: str) -> str:
    """A text as people edit it: each {{ variable }} as its name in brackets (［称呼］)."""

    def word(match: re.Match[str]) -> str:
        found = VARIABLES.get(match.group(1))
        return f"［{found[0]}］" if found else match.group(0)

    return _PLACEHOLDER.sub(word, text or "")


def _names_by_label() -> dict[str, str]:
    names: dict[str, str] = {}
    for language, _language_name in settings.LANGUAGES:
        with translation.override(language):
            names.update({str(label): name for name, (label, _example) in VARIABLES.items()})
    return names


def from_readable(text: str) -> str:
    """The stored form of a text typed with ［称呼］ names (in any of the site's languages); a
    bracketed word that names no variable stays as typed."""
    names = _names_by_label()

    def code(match: re.Match[str]) -> str:
        name = names.get(match.group(1).strip())
        return f"{{{{ {name} }}}}" if name else match.group(0)

    return _WORD.sub(code, text or "")


def param_names(items: list[str]) -> list[str]:
    """SMS template parameters typed by their names (称呼) or as stored (salutation)."""
    names = _names_by_label()
    return [names.get(item.strip("［］ "), item) for item in items]


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


def render(text: str, variables: dict[str, str], *, mark_missing: bool = False) -> str:
    """Replace each {{ name }} by its value: '' for a value the customer does not have, or with
    `mark_missing` the variable's name in brackets (［券码］), for a message that is not sent."""

    def value(match: re.Match[str]) -> str:
        found = variables.get(match.group(1), "")
        if found or not mark_missing:
            return found
        label = VARIABLES.get(match.group(1), (match.group(1), ""))[0]
        return f"［{label}］"

    return _PLACEHOLDER.sub(value, text or "")


# A message whose text needs a value she does not have is not sent: Message.error keeps this
# prefix and the variables' names, and `explain_error` says it in the reader's language.
MISSING_PREFIX = "missing:"


def missing_variables(texts: list[str], variables: dict[str, str], params: list[str]) -> list[str]:
    """The variables the texts (or the SMS template's parameters) use that have no value."""
    names: list[str] = []
    for text in texts:
        names += placeholders(text)
    names += list(params)
    return [n for n in dict.fromkeys(names) if n in VARIABLES and not variables.get(n)]


def explain_error(error: str) -> str:
    """A message's stored error as the reader reads it (a missing value named by its label)."""
    if not error.startswith(MISSING_PREFIX):
        return error
    names = [n for n in error[len(MISSING_PREFIX) :].split(",") if n in VARIABLES]
    labels = pgettext("list separator", ", ").join(str(VARIABLES[n][0]) for n in names)
    return _("The text needs %(what)s, which this customer does not have.") % {"what": labels}


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
