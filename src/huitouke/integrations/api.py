"""API of the integrations app: change feeds of the main tables, and their tombstones."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from huitouke.accounts import scoping
from huitouke.accounts.auth import api_user, require_manager
from huitouke.customers.models import Customer
from huitouke.customers.schemas import CustomerOut
from huitouke.integrations.feeds import feed_page
from huitouke.integrations.models import Tombstone
from huitouke.integrations.schemas import FeedPage, FeedParams, TombstoneOut
from huitouke.loyalty.models import Coupon, PointsEntry
from huitouke.loyalty.schemas import CouponOut, PointsEntryOut
from huitouke.messaging.models import Message
from huitouke.messaging.schemas import MessageOut
from huitouke.sales.models import Order
from huitouke.sales.schemas import OrderOut

router = Router(tags=["changes"])


def _page(queryset: Any, params: FeedParams, time_field: str = "updated_at") -> dict[str, Any]:
    return feed_page(
        queryset,
        time_field=time_field,
        updated_since=params.updated_since,
        cursor=params.cursor,
        limit=params.limit,
        with_count=params.with_count,
    )


@router.get("/changes/customers", response=FeedPage[CustomerOut])
def customer_changes(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Customers you may see, created or changed after the cursor; merged ones are tombstones."""
    rows = Customer.objects.visible_to(api_user(request)).filter(merged_into__isnull=True)
    return _page(rows, params)


@router.get("/changes/orders", response=FeedPage[OrderOut])
def order_changes(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Orders you may see, recorded or changed (refunds) after the cursor."""
    return _page(Order.objects.visible_to(api_user(request)).prefetch_related("lines"), params)


@router.get("/changes/points", response=FeedPage[PointsEntryOut])
def points_changes(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Points ledger entries (append-only) of the customers you may see, after the cursor."""
    user = api_user(request)
    rows = PointsEntry.objects.filter(scoping.customer_q(user, "customer__"))
    return _page(rows, params, time_field="created_at")


@router.get("/changes/coupons", response=FeedPage[CouponOut])
def coupon_changes(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Coupons of the customers you may see, issued or changed (used, voided) after the cursor."""
    user = api_user(request)
    rows = Coupon.objects.filter(scoping.customer_q(user, "customer__")).select_related("template")
    return _page(rows, params)


@router.get("/changes/messages", response=FeedPage[MessageOut])
def message_changes(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Outbox messages to the customers you may see, queued or changed after the cursor."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a manager can read the outbox."))
    rows = Message.objects.filter(organisation_id=user.organisation_id).filter(
        scoping.customer_q(user, "customer__")
    )
    return _page(rows, params)


@router.get("/changes/tombstones", response=FeedPage[TombstoneOut])
def tombstones(request: HttpRequest, params: Query[FeedParams]) -> dict[str, Any]:
    """Rows gone from the feeds (deleted, merged, anonymised): ids only, for your organisation."""
    user = api_user(request)
    return _page(Tombstone.objects.filter(organisation_id=user.organisation_id), params)
