"""API: the outbox (within the caller's scope) and customers' opt-outs."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from huitouke.accounts import scoping
from huitouke.accounts.auth import api_user, require_manager
from huitouke.customers.models import Customer
from huitouke.messaging.models import Message, OptOut
from huitouke.messaging.opt_outs import do_opt_out
from huitouke.messaging.schemas import MessageFilter, MessageOut, OptOutIn, OptOutOut
from huitouke.schemas import ObjectId, Page, Paging, page_of

router = Router(tags=["messages"])


@router.get("/messages", response=Page[MessageOut])
def list_messages(
    request: HttpRequest, filters: Query[MessageFilter], paging: Query[Paging]
) -> Any:
    """Messages to the customers the caller may see, newest first (owner or manager)."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a manager can read the outbox."))
    rows = Message.objects.filter(organisation_id=user.organisation_id).filter(
        scoping.customer_q(user, "customer__")
    )
    for field, value in filters.model_dump(exclude_none=True).items():
        rows = rows.filter(**{field: value})
    return page_of(rows.order_by("-created_at", "-id"), paging)


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    customer = Customer.objects.visible_to(api_user(request)).filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


@router.get("/customers/{customer_id}/opt-outs", response=list[OptOutOut])
def list_opt_outs(request: HttpRequest, customer_id: ObjectId) -> Any:
    """The channels she asked not to be contacted on."""
    return OptOut.objects.filter(customer=_customer(request, customer_id))


@router.post("/customers/{customer_id}/opt-outs", response={201: OptOutOut})
def create_opt_out(request: HttpRequest, customer_id: ObjectId, payload: OptOutIn) -> Any:
    """Record that she wants no more messages on a channel ("all" for every channel)."""
    customer = _customer(request, customer_id)
    return Status(
        201,
        do_opt_out(
            customer,
            channel=payload.channel,
            source="api",
            actor=api_user(request),
            note=payload.note,
            request=request,
        ),
    )
