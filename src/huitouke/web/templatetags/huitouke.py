"""Template helpers: money, masked phones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from huitouke.customers.phones import phone_as_seen

register = template.Library()


@register.filter
def yuan(value: Any) -> str:
    """¥1,234.50"""
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    return f"¥{amount:,.2f}"


@register.simple_tag(takes_context=True)
def phone_for(context: Any, customer: Any) -> str:
    """The customer's phone as the signed-in user may see it (masked unless hers or the owner's)."""
    return phone_as_seen(context["request"].user, customer)
