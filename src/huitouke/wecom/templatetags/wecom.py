"""{% wecom_panel customer %}: the customer's WeCom status on her page."""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.customers.models import Customer
from huitouke.wecom.models import WeComFollow, WeComMember, WeComTransfer

register = template.Library()


@register.inclusion_tag("wecom/_customer_panel.html")
def wecom_panel(customer: Customer) -> dict[str, Any]:
    follows = list(
        WeComFollow.objects.filter(contact__customer=customer)
        .select_related("contact")
        .order_by("added_at", "pk")
    )
    if not follows:
        return {"wecom_follows": []}
    members = {
        m.userid: m
        for m in WeComMember.objects.filter(
            organisation_id=customer.organisation_id, userid__in={f.userid for f in follows}
        ).select_related("staff")
    }
    first = {f.contact.first_userid for f in follows}
    rows = [
        {
            "follow": f,
            "member": members.get(f.userid),
            "earliest": f.userid in first,
        }
        for f in follows
    ]
    transfer = WeComTransfer.objects.filter(customer=customer).order_by("-requested_at").first()
    return {"wecom_follows": rows, "wecom_transfer": transfer}
