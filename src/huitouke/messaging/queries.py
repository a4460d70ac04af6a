"""Read-side helpers: a customer's messages and opt-outs (for her profile's timeline)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from huitouke.customers.models import Customer
from huitouke.messaging.models import Message, OptOut


def customer_messages(customer: Customer, *, limit: int = 100) -> QuerySet[Message]:
    """Her messages, newest first, with their rules (the timeline's message entries)."""
    return (
        Message.objects.filter(customer=customer)
        .select_related("rule")
        .order_by("-created_at", "-id")[:limit]
    )


def customer_panel_context(customer: Customer) -> dict[str, Any]:
    """What messaging/_customer_messages.html needs, for the customer page to include it."""
    return {
        "history": customer_messages(customer, limit=20),
        "opt_outs": list(OptOut.objects.filter(customer=customer)),
    }
