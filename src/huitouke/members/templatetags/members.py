"""{% pending_member_codes %}: sign-in codes for staff to read out where the shop has no SMS channel."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Sum

from huitouke.members.sms import codes_for_staff
from huitouke.members.staff_views import visible_codes

register = template.Library()


@register.inclusion_tag("members/_pending_codes.html", takes_context=True)
def pending_member_codes(context: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"member_codes": codes_for_staff(user) if user is not None else []}


@register.inclusion_tag("members/_join_funnel.html", takes_context=True)
def join_funnel(context: Any) -> dict[str, Any]:
    """The dashboard's join funnel (scanned → asked for a code → joined) over the user's codes."""

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return {"funnel": None}
    totals = visible_codes(user).aggregate(
        n=Count("id"), scans=Sum("scans"), codes_sent=Sum("codes_sent"), joins=Sum("joins")
    )
    return {"funnel": totals if totals["n"] else None}
