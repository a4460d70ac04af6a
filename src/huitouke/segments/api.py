"""API: saved segments, their members (within the caller's scope) and a live count."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status

from huitouke.accounts.auth import api_user, require_manager
from huitouke.customers.actions import do_record_reads
from huitouke.customers.api import router as customers_router
from huitouke.customers.models import Customer
from huitouke.customers.schemas import CustomerFilters, CustomerOut
from huitouke.schemas import ObjectId, Page, Paging, Text, page_of
from huitouke.segments.actions import do_save_segment
from huitouke.segments.compiler import SegmentError, compile_segment, field_errors
from huitouke.segments.customer_list import filter_customers
from huitouke.segments.models import Segment

router = Router(tags=["segments"])


class SegmentIn(Schema):
    name: Text
    description: Text = ""
    definition: dict[str, Any]


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    definition: dict[str, Any]


class CountIn(Schema):
    definition: dict[str, Any]


class CountOut(Schema):
    count: int


def _segment(user: Any, segment_id: int) -> Segment:
    try:
        return Segment.objects.get(pk=segment_id, organisation_id=user.organisation_id)
    except Segment.DoesNotExist as exc:
        raise Http404 from exc


def _members(user: Any, definition: Any) -> Any:
    try:
        q = compile_segment(definition, user.organisation, scope=user)
    except SegmentError as exc:
        raise ValidationError(field_errors(exc)) from exc
    return Customer.objects.visible_to(user).filter(q)


@router.get("/segments", response=list[SegmentOut])
def list_segments(request: HttpRequest) -> Any:
    """The organisation's saved segments."""
    user = api_user(request)
    return Segment.objects.filter(organisation_id=user.organisation_id)


@router.post("/segments", response={201: SegmentOut})
def create_segment(request: HttpRequest, payload: SegmentIn) -> Any:
    """Save a segment (owner or manager); the definition is validated first."""
    user = api_user(request)
    require_manager(user, "Only the owner or a manager can save segments.")
    return Status(
        201, do_save_segment(organisation=user.organisation, actor=user, **payload.model_dump())
    )


@router.post("/segments/count", response=CountOut)
def count_segment(request: HttpRequest, payload: CountIn) -> Any:
    """How many customers (in the caller's scope) a definition selects, without saving it."""
    user = api_user(request)
    return {"count": _members(user, payload.definition).count()}


@router.get("/segments/{segment_id}", response=SegmentOut)
def get_segment(request: HttpRequest, segment_id: ObjectId) -> Any:
    """One segment."""
    return _segment(api_user(request), segment_id)


@router.get("/segments/{segment_id}/members", response=Page[CustomerOut])
def segment_members(request: HttpRequest, segment_id: ObjectId, paging: Query[Paging]) -> Any:
    """The segment's customers that the caller may see, newest first."""
    user = api_user(request)
    qs = _members(user, _segment(user, segment_id).definition)
    return page_of(qs.select_related("stats").prefetch_related("tags").order_by("-id"), paging)


@customers_router.get("/customers", response=Page[CustomerOut])
def list_customers(
    request: HttpRequest, filters: Query[CustomerFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """Customers you may see, newest first, filtered by search text, owner, store and orders.

    The filters are the customer list's, run through the segment compiler (one customer filter).
    """
    user = api_user(request)
    qs = filter_customers(user, filters.model_dump())
    page = page_of(qs.select_related("stats").prefetch_related("tags").order_by("-id"), paging)
    do_record_reads(actor=user, customers=page["items"], request=request, via="api list")
    return page
