"""Template filters for analytics numbers: shares as percentages and signed changes."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def pct(value: Any, digits: int = 1) -> str:
    """0.1234 → "12.3%" ("—" when there is no value)."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


@register.filter
def change(value: Any, kind: str = "") -> str:
    """A signed change: "+12.3%" for amounts, "+1.2 pp" (个百分点) for rates ("—" when unknown)."""
    if value is None or value == "":
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    unit = " " + pgettext("percentage points", "pp") if kind == "rate" else "%"
    return f"{sign}{abs(float(value)):.1f}{unit}"


@register.filter
def change_class(value: Any) -> str:
    """CSS badge class of a change: ok when up, bad when down."""
    if value is None or value == "":
        return ""
    return "ok" if value > 0 else ("bad" if value < 0 else "")
