"""Read-side helpers for the customer screens, the API and exports (one filter definition)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import Http404, HttpRequest

from huitouke.customers.models import Customer, CustomerQuerySet
from huitouke.customers.phones import normalise_phone


def get_customer_for(request: HttpRequest, pk: int) -> Customer:
    """The customer `pk` if the signed-in user may see her, else 404 (never 403: no existence leak)."""
    try:
        return (
            Customer.objects.visible_to(request.user)
            .select_related("stats", "owner", "home_store")
            .get(pk=pk)
        )
    except Customer.DoesNotExist as exc:
        raise Http404 from exc


def search_q(text: str) -> Q:
    """Match a name, a phone (full or partial digits), a WeChat id, a customer number or a tag."""
    text = text.strip()
    if not text:
        return Q()
    digits = text.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 11:
        # A full number: normalise it and use the (organisation, phone) unique index.
        try:
            return Q(phone=normalise_phone(digits))
        except Exception:
            return Q(phone__contains=digits)
    if digits.isdigit() and len(digits) >= 4:
        return Q(phone__contains=digits) | Q(external_id=text)
    return Q(name__icontains=text) | Q(wechat_id=text) | Q(external_id=text) | Q(tags__name=text)


def filter_customers(qs: CustomerQuerySet, params: dict[str, Any]) -> CustomerQuerySet:
    """Apply the list filters shared by the HTML list, the API and the export."""
    if q := params.get("q"):
        qs = qs.filter(search_q(str(q)))
        if not str(q).strip().lstrip("+").replace(" ", "").isdigit():
            qs = qs.distinct()
    if store := params.get("store"):
        qs = qs.filter(home_store_id=getattr(store, "pk", store))
    owner = params.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        qs = qs.filter(owner_id=getattr(owner, "pk", owner))
    has_orders = params.get("has_orders")
    if has_orders in ("yes", True):
        qs = qs.filter(stats__orders_count__gt=0)
    elif has_orders in ("no", False):
        qs = qs.filter(stats__orders_count=0)
    if tag := params.get("tag"):
        qs = qs.filter(tags__name=tag)
    return qs
