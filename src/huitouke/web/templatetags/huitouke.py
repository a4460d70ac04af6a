"""Template helpers: money, masked phones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from huitouke.accounts.scoping import can_see_full_phone
from huitouke.customers.phones import mask_phone, national

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
    if not customer.phone:
        return ""
    user = context["request"].user
    if can_see_full_phone(user, customer):
        return national(customer.phone)
    return mask_phone(customer.phone)
