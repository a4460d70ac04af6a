"""API: customers, their interactions and timeline; always within `Customer.objects.visible_to`.

The filtered list (GET /customers) runs the segment compiler, so segments.api adds it to this
router.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from huitouke.accounts.auth import api_user
from huitouke.accounts.models import Store, User
from huitouke.accounts.scoping import staff_q
from huitouke.customers.actions import (
    do_add_interaction,
    do_create_customer,
    do_record_reads,
    do_update_customer,
)
from huitouke.customers.models import Customer, Interaction
from huitouke.customers.queries import get_customer_for
from huitouke.customers.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    InteractionIn,
    InteractionOut,
    TimelineEntry,
)
from huitouke.schemas import ObjectId

router = Router(tags=["customers"])


def _resolve_refs(user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """Turn owner_id / home_store_id / referrer_id into objects the user may pick, else 422."""
    lookups = {
        "owner_id": (
            "owner",
            User.objects.filter(staff_q(user), is_active=True),
            _("Unknown staff member."),
        ),
        "home_store_id": (
            "home_store",
            Store.objects.filter(organisation_id=user.organisation_id),
            _("Unknown store."),
        ),
        "referrer_id": ("referrer", Customer.objects.visible_to(user), _("Unknown customer.")),
    }
    for key, (name, queryset, message) in lookups.items():
        if key in fields:
            pk = fields.pop(key)
            fields[name] = None if pk is None else queryset.filter(pk=pk).first()
            if pk is not None and fields[name] is None:
                raise ValidationError({key: message})
    return fields


def _check_external_id(user: User, fields: dict[str, Any], pk: int | None = None) -> None:
    """A customer number taken in the organisation is a conflict (409), said before the write."""
    number = fields.get("external_id")
    taken = Customer.objects.filter(
        organisation_id=user.organisation_id, external_id=number, merged_into__isnull=True
    ).exclude(pk=pk)
    if number and taken.exists():
        raise ValidationError(
            {
                "external_id": ValidationError(
                    _("A customer with this customer number already exists."),
                    code="duplicate_external_id",
                )
            }
        )


def _still_visible(user: User, customer: Customer) -> Customer:
    # Re-check the scope after the write (inside the caller's transaction, so a refusal rolls it
    # back): a customer handed to someone else's store or staff would vanish from the caller's view.
    found = Customer.objects.visible_to(user).select_related("stats").filter(pk=customer.pk).first()
    if found is None:
        raise ValidationError(
            {
                "owner_id": _(
                    "You would no longer see this customer: keep her with you or your store."
                )
            }
        )
    return found


@router.post("/customers", response={201: CustomerOut})
def create_customer(request: HttpRequest, payload: CustomerIn) -> Customer:
    """Create a customer; staff own the customers they create."""
    user = api_user(request)
    fields = _resolve_refs(user, payload.model_dump(exclude_unset=True))
    _check_external_id(user, fields)
    with transaction.atomic():
        customer = do_create_customer(
            organisation=user.organisation, actor=user, consent_source="api", **fields
        )
        return _still_visible(user, customer)


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request: HttpRequest, customer_id: ObjectId) -> Customer:
    """One customer's profile and stats."""
    user = api_user(request)
    customer = get_customer_for(request, customer_id)
    do_record_reads(actor=user, customers=[customer], request=request, via="api detail")
    return customer


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(
    request: HttpRequest, customer_id: ObjectId, payload: CustomerPatch
) -> Customer:
    """Change the fields sent; the others stay as they are."""
    user = api_user(request)
    customer = get_customer_for(request, customer_id)
    fields = _resolve_refs(user, payload.model_dump(exclude_unset=True))
    _check_external_id(user, fields, customer.pk)
    with transaction.atomic():
        do_update_customer(customer, actor=user, request=request, consent_source="api", **fields)
        return _still_visible(user, customer)


@router.get("/customers/{customer_id}/timeline", response=list[TimelineEntry])
def customer_timeline(
    request: HttpRequest, customer_id: ObjectId, limit: int = Query(50, ge=1, le=200)
) -> list[dict[str, Any]]:
    """Her orders and interactions, newest first."""
    api_user(request)
    customer = get_customer_for(request, customer_id)
    orders = customer.orders.prefetch_related("lines").order_by("-placed_at", "-id")[:limit]
    interactions = customer.interactions.order_by("-occurred_at", "-id")[:limit]
    entries: list[dict[str, Any]] = [
        *({"type": "order", "at": o.placed_at, "order": o} for o in orders),
        *({"type": "interaction", "at": i.occurred_at, "interaction": i} for i in interactions),
    ]
    return sorted(entries, key=lambda e: e["at"], reverse=True)[:limit]


@router.post("/customers/{customer_id}/interactions", response={201: InteractionOut})
def add_interaction(
    request: HttpRequest, customer_id: ObjectId, payload: InteractionIn
) -> Interaction:
    """Write a visit, call, chat, consultation, complaint, … on her timeline."""
    user = api_user(request)
    customer = get_customer_for(request, customer_id)
    return do_add_interaction(customer, actor=user, **payload.model_dump())
