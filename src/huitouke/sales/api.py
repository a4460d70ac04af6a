"""API: categories, products, orders and refunds, within the caller's organisation and scope."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from huitouke.accounts.auth import api_user, require_manager
from huitouke.accounts.models import Store, User
from huitouke.accounts.scoping import staff_q
from huitouke.customers.models import Customer
from huitouke.sales.actions import (
    LineInput,
    do_record_order,
    do_refund_order,
    do_save_category,
    do_save_product,
)
from huitouke.sales.models import Category, Order, Product, Refund
from huitouke.sales.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    OrderFilters,
    OrderIn,
    OrderOut,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPatch,
    RefundIn,
    RefundOut,
)
from huitouke.schemas import ObjectId, Page, Paging, page_of

router = Router(tags=["sales"])
# Order amounts are NUMERIC(12, 2): a larger total would overflow the column on PostgreSQL.
LARGEST_ORDER = Decimal("9999999999.99")


def _in_org(model: type[models.Model], user: User, pk: int) -> Any:
    """The organisation's object `pk`, or 404 (another organisation's objects do not exist here)."""
    obj = model._default_manager.filter(organisation_id=user.organisation_id, pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _product_fields(user: User, payload: ProductPatch) -> dict[str, Any]:
    fields = payload.model_dump(exclude_unset=True)
    if (
        fields.get("category_id") is not None
        and not Category.objects.filter(
            organisation_id=user.organisation_id, pk=fields["category_id"]
        ).exists()
    ):
        raise ValidationError({"category_id": _("Unknown category.")})
    return fields


@router.get("/categories", response=list[CategoryOut])
def list_categories(request: HttpRequest) -> Any:
    """All categories of your organisation with their repurchase cycles."""
    return Category.objects.filter(organisation_id=api_user(request).organisation_id)


@router.post("/categories", response={201: CategoryOut})
def create_category(request: HttpRequest, payload: CategoryIn) -> Category:
    """Add a category (owner and managers)."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a store manager can change categories."))
    return do_save_category(
        Category(organisation_id=user.organisation_id),
        actor=user,
        request=request,
        **payload.model_dump(exclude_unset=True),
    )


@router.patch("/categories/{category_id}", response=CategoryOut)
def update_category(
    request: HttpRequest, category_id: ObjectId, payload: CategoryPatch
) -> Category:
    """Rename a category or change its repurchase cycle (owner and managers)."""
    user = api_user(request)
    category = _in_org(Category, user, category_id)
    require_manager(user, _("Only the owner or a store manager can change categories."))
    return do_save_category(
        category, actor=user, request=request, **payload.model_dump(exclude_unset=True)
    )


@router.get("/products", response=Page[ProductOut])
def list_products(
    request: HttpRequest, filters: Query[ProductFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """Products of your organisation by name, filtered by text, category and whether on sale."""
    qs = Product.objects.filter(organisation_id=api_user(request).organisation_id)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(sku=filters.q))
    if filters.category is not None:
        qs = qs.filter(category_id=filters.category)
    if filters.is_active is not None:
        qs = qs.filter(is_active=filters.is_active)
    return page_of(qs.order_by("name", "id"), paging)


@router.post("/products", response={201: ProductOut})
def create_product(request: HttpRequest, payload: ProductIn) -> Product:
    """Add a product (owner and managers)."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a store manager can change products."))
    return do_save_product(
        Product(organisation_id=user.organisation_id),
        actor=user,
        request=request,
        **_product_fields(user, payload),
    )


@router.get("/products/{product_id}", response=ProductOut)
def get_product(request: HttpRequest, product_id: ObjectId) -> Product:
    """One product."""
    return _in_org(Product, api_user(request), product_id)


@router.patch("/products/{product_id}", response=ProductOut)
def update_product(request: HttpRequest, product_id: ObjectId, payload: ProductPatch) -> Product:
    """Change the fields sent (owner and managers)."""
    user = api_user(request)
    product = _in_org(Product, user, product_id)
    require_manager(user, _("Only the owner or a store manager can change products."))
    return do_save_product(product, actor=user, request=request, **_product_fields(user, payload))


def _visible_order(user: User, order_id: int) -> Order:
    order = Order.objects.visible_to(user).prefetch_related("lines").filter(pk=order_id).first()
    if order is None:
        raise Http404
    return order


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@router.get("/orders", response=Page[OrderOut])
def list_orders(
    request: HttpRequest, filters: Query[OrderFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """Orders you may see, newest first; `since` and `until` are whole days in the shop's time zone."""
    qs = Order.objects.visible_to(api_user(request))
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.since is not None:
        qs = qs.filter(placed_at__gte=_day_start(filters.since))
    if filters.until is not None:
        qs = qs.filter(placed_at__lt=_day_start(filters.until + timedelta(days=1)))
    return page_of(qs.prefetch_related("lines").order_by("-placed_at", "-id"), paging)


def _line_amounts(line: LineInput) -> tuple[Decimal, Decimal]:
    """The line's price and cost totals, as the action will compute them."""
    price = line.unit_price if line.unit_price is not None else getattr(line.product, "price", 0)
    return line.quantity * Decimal(price), line.quantity * getattr(line.product, "cost", Decimal(0))


def _order_arguments(user: User, payload: OrderIn) -> dict[str, Any]:
    """Resolve the ids of an order to objects the user may use; unknown or out of scope is a 422."""
    org_id = user.organisation_id
    args: dict[str, Any] = {
        "organisation": user.organisation,
        "actor": user,
        "customer": None,
        "staff": user,
    }
    if payload.customer_id is not None:
        args["customer"] = Customer.objects.visible_to(user).filter(pk=payload.customer_id).first()
        if args["customer"] is None:
            raise ValidationError({"customer_id": _("Unknown customer.")})
    store_id = payload.store_id or user.store_id
    args["store"] = (
        Store.objects.filter(organisation_id=org_id, pk=store_id).first() if store_id else None
    )
    if args["store"] is None:
        raise ValidationError(
            {"store_id": _("Unknown store.") if store_id else _("Choose the store.")}
        )
    if payload.staff_id is not None:
        args["staff"] = User.objects.filter(staff_q(user), pk=payload.staff_id).first()
        if args["staff"] is None:
            raise ValidationError({"staff_id": _("Unknown staff member.")})
    product_ids = {line.product_id for line in payload.lines if line.product_id is not None}
    products = Product.objects.filter(organisation_id=org_id, pk__in=product_ids).in_bulk()
    lines = []
    for n, line in enumerate(payload.lines, start=1):
        if line.product_id is not None and line.product_id not in products:
            raise ValidationError(
                {
                    "lines": _("Line %(n)s: unknown product %(id)s.")
                    % {"n": n, "id": line.product_id}
                }
            )
        product = products.get(line.product_id) if line.product_id else None
        lines.append(
            LineInput(
                quantity=line.quantity, product=product, name=line.name, unit_price=line.unit_price
            )
        )
    amounts = [_line_amounts(line) for line in lines]
    gross = sum((price for price, _cost in amounts), Decimal(0))
    if max(gross, sum((cost for _price, cost in amounts), Decimal(0))) > LARGEST_ORDER:
        raise ValidationError(
            {"lines": _("The order total (¥%(total)s) is too large.") % {"total": gross}}
        )
    if (
        payload.external_id
        and Order.objects.filter(organisation_id=org_id, external_id=payload.external_id).exists()
    ):
        raise ValidationError(
            {
                "external_id": ValidationError(
                    _("An order with this external number already exists."),
                    code="duplicate_external_id",
                )
            }
        )
    return {
        **args,
        "lines": lines,
        "placed_at": payload.placed_at,
        "discount": payload.discount,
        "source": payload.source,
        "external_id": payload.external_id,
        "note": payload.note,
    }


@router.post("/orders", response={201: OrderOut})
def create_order(request: HttpRequest, payload: OrderIn) -> Order:
    """Record a paid order with its lines; the customer's stats update with it."""
    user = api_user(request)
    arguments = _order_arguments(user, payload)
    with transaction.atomic():
        order = do_record_order(**arguments)
        # A manager recording a walk-in sale in another store would not see it afterwards.
        if not Order.objects.visible_to(user).filter(pk=order.pk).exists():
            raise ValidationError(
                {"store_id": _("You would not see this order: record it in your own store.")}
            )
    return _visible_order(user, order.pk)


@router.get("/orders/{order_id}", response=OrderOut)
def get_order(request: HttpRequest, order_id: ObjectId) -> Order:
    """One order with its lines."""
    return _visible_order(api_user(request), order_id)


@router.post("/orders/{order_id}/refunds", response={201: RefundOut})
def refund_order(request: HttpRequest, order_id: ObjectId, payload: RefundIn) -> Refund:
    """Refund an order in whole or in part (owner and managers)."""
    user = api_user(request)
    order = _visible_order(user, order_id)
    require_manager(user, _("Only the owner or a store manager can refund orders."))
    return do_refund_order(
        order=order,
        actor=user,
        amount=payload.amount,
        reason=payload.reason,
        request=request,
        lines=[(line.line_id, line.quantity) for line in payload.lines],
    )
