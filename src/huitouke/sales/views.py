"""Sales screens: orders and refunds, the product and category forms.

The quick order (it checks out with loyalty) is loyalty.quick_order; the products page (it shows
the learned cycles) is analytics.products_page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.sales.actions import do_refund_order, do_save_category, do_save_product
from huitouke.sales.forms import CategoryForm, ProductForm, RefundForm
from huitouke.sales.models import Category, Order, Product


@login_required
def order_list(request: AuthedRequest) -> HttpResponse:
    qs = (
        Order.objects.visible_to(request.user)
        .select_related("customer", "store", "staff")
        .order_by("-placed_at", "-id")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "sales/orders.html", {"page": page, "active_nav": "orders"})


def _get_order_for(request: AuthedRequest, pk: int) -> Order:
    try:
        return (
            Order.objects.visible_to(request.user)
            .select_related("customer", "store", "staff")
            .get(pk=pk)
        )
    except Order.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def order_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    order = _get_order_for(request, pk)
    can_refund = request.user.role in (Role.OWNER, Role.MANAGER)
    ctx = {
        "order": order,
        "lines": order.lines.all(),
        "refunds": order.refunds.all(),
        "refund_form": RefundForm(),
        "can_refund": can_refund,
        "active_nav": "orders",
    }
    return render(request, "sales/order.html", ctx)


@login_required
@require_POST
def refund(request: AuthedRequest, pk: int) -> HttpResponse:
    order = _get_order_for(request, pk)
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            do_refund_order(
                order=order,
                actor=request.user,
                amount=form.cleaned_data.get("amount"),
                reason=form.cleaned_data.get("reason") or "",
                request=request,
            )
            messages.success(request, _("Refund recorded."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("sales:order", pk)


def _require_manager(request: AuthedRequest) -> None:
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied


def _edit(
    request: AuthedRequest, form_class: Any, instance: Any, title: str, save: Any
) -> HttpResponse:
    _require_manager(request)
    form = form_class(
        request.POST or None, instance=instance, organisation=request.user.organisation
    )
    if request.method == "POST" and form.is_valid():
        try:
            save(
                form.save(commit=False),
                actor=request.user,
                request=request,
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
        except ValidationError as exc:
            by_field = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, errors in by_field.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:products")
    return render(
        request, "sales/edit.html", {"form": form, "title": title, "active_nav": "products"}
    )


@login_required
def product_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    instance = (
        get_object_or_404(Product, pk=pk, organisation=request.user.organisation) if pk else None
    )
    return _edit(request, ProductForm, instance, _("Product"), do_save_product)


@login_required
def category_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    instance = (
        get_object_or_404(Category, pk=pk, organisation=request.user.organisation) if pk else None
    )
    return _edit(request, CategoryForm, instance, _("Category"), do_save_category)
