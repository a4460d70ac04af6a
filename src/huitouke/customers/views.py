"""Customer screens: list, create/edit, interactions, duplicates and merge (the page: web.customer_page)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.accounts.scoping import can_reveal_phone
from huitouke.customers import actions
from huitouke.customers.duplicates import do_merge_customers, possible_duplicates
from huitouke.customers.forms import (
    CustomerForm,
    InteractionForm,
)
from huitouke.customers.models import Customer
from huitouke.customers.phones import national
from huitouke.customers.queries import get_customer_for


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def customer_create(request: AuthedRequest) -> HttpResponse:
    form = CustomerForm(
        request.POST or None, user=request.user, initial={"phone": request.GET.get("phone", "")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            customer = actions.do_create_customer(
                organisation=request.user.organisation,
                actor=request.user,
                consent_source="form",
                **form.action_fields(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” saved.") % {"name": customer.name})
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/form.html", {"form": form, "active_nav": "customers"})


@login_required
def customer_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_customer_for(request, pk)
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_customer(
                customer,
                actor=request.user,
                request=request,
                consent_source="form",
                **form.action_fields(),
            )
        except ValidationError as exc:
            customer.refresh_from_db()
            _add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            # After an owner change the customer may have left this user's scope.
            if not Customer.objects.visible_to(request.user).filter(pk=pk).exists():
                return redirect("customers:list")
            return redirect("customers:detail", pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer, "active_nav": "customers"},
    )


@login_required
@require_POST
def add_interaction(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_customer_for(request, pk)
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            actions.do_add_interaction(customer, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Contact recorded."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Please choose the kind of contact."))
    return redirect("customers:detail", pk)


@login_required
@require_POST
def reveal_phone(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_customer_for(request, pk)
    if not can_reveal_phone(request.user, customer):
        raise Http404
    phone = actions.do_reveal_phone(customer, actor=request.user, request=request)
    return HttpResponse(f'<a href="tel:{phone}">{national(phone)}</a>')


def _owner_only(request: AuthedRequest) -> None:
    if getattr(request.user, "role", None) != Role.OWNER:
        raise PermissionDenied


@login_required
def duplicates(request: AuthedRequest) -> HttpResponse:
    _owner_only(request)
    pairs = possible_duplicates(request.user.organisation)
    return render(request, "customers/duplicates.html", {"pairs": pairs, "active_nav": "customers"})


@login_required
@require_POST
def merge(request: AuthedRequest) -> HttpResponse:
    _owner_only(request)
    try:
        keep = get_customer_for(request, int(request.POST["keep"]))
        duplicate = get_customer_for(request, int(request.POST["duplicate"]))
    except (KeyError, ValueError) as exc:
        raise Http404 from exc
    try:
        do_merge_customers(keep=keep, duplicate=duplicate, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customers:duplicates")
    messages.success(
        request,
        _("“%(dup)s” was merged into “%(keep)s”.") % {"dup": duplicate.name, "keep": keep.name},
    )
    return redirect("customers:detail", keep.pk)
