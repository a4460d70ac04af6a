"""Template helpers: money, masked phones, "3 天前"."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


@register.filter
def days_ago(value: Any) -> str:
    """A past time as people say it in lists: 今天 / 3 天前 (local days, the active time zone)."""
    if not isinstance(value, datetime):
        return ""
    days = (timezone.localdate() - timezone.localtime(value).date()).days
    if days <= 0:
        return _("today")
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}
