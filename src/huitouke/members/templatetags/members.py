"""{% pending_member_codes %}: sign-in codes for staff to read out where the shop has no SMS channel."""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.members.sms import codes_for_staff

register = template.Library()


@register.inclusion_tag("members/_pending_codes.html", takes_context=True)
def pending_member_codes(context: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"member_codes": codes_for_staff(user) if user is not None else []}
