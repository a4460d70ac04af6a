"""Customer screens: list, profile page, create/edit, interactions, family, duplicates and merge."""

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
from huitouke.analytics.queries import customer_panel
from huitouke.customers import actions
from huitouke.customers.forms import (
    CustomerForm,
    FamilyMemberForm,
    InteractionForm,
)
from huitouke.customers.models import Customer, CustomField
from huitouke.customers.phones import national
from huitouke.customers.queries import get_customer_for, owner_history
from huitouke.loyalty.queries import customer_panel_context
from huitouke.messaging.queries import customer_panel_context as messaging_panel
from huitouke.sales.queries import purchase_phases

PAGE_SIZE = 50


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def customer_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_customer_for(request, pk))


def _render_detail(request: AuthedRequest, customer: Customer, **forms: Any) -> HttpResponse:
    orders = (
        customer.orders.select_related("store", "staff")
        .prefetch_related("lines")
        .order_by("-placed_at")[:100]
    )
    interactions = customer.interactions.select_related("staff").order_by("-occurred_at")[:100]
    timeline: list[dict[str, Any]] = [
        {"kind": "order", "at": o.placed_at, "obj": o} for o in orders
    ]
    timeline += [{"kind": "interaction", "at": i.occurred_at, "obj": i} for i in interactions]
    timeline.sort(key=lambda e: e["at"], reverse=True)
    fields = CustomField.objects.filter(organisation_id=customer.organisation_id)
    archive = [
        (f, customer.custom.get(f.key))
        for f in fields
        if customer.custom.get(f.key) not in (None, "", [])
    ]
    ctx = {
        "customer": customer,
        "stats": customer.stats,
        "timeline": timeline,
        "archive": archive,
        "family": customer.family.all(),
        "tags": customer.tags.all(),
        "interaction_form": forms.get("interaction_form") or InteractionForm(),
        "family_form": forms.get("family_form") or FamilyMemberForm(),
        "family_form_open": "family_form" in forms,
        "can_reveal": can_reveal_phone(request.user, customer),
        "analytics_panel": customer_panel(customer),
        "purchase_phases": purchase_phases(customer),
        "active_nav": "customers",
    }
    ctx.update(customer_panel_context(customer))
    ctx["messaging"] = messaging_panel(customer)
    ctx["owner_history"] = owner_history(customer)
    return render(request, "customers/detail.html", ctx)


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
def add_family_member(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_customer_for(request, pk)
    form = FamilyMemberForm(request.POST)
    if form.is_valid():
        actions.do_add_family_member(
            customer, form.save(commit=False), actor=request.user, request=request
        )
        messages.success(request, _("Family member added."))
        return redirect("customers:detail", pk)
    # Shown again with what was typed and the reason beside the field.
    return _render_detail(request, customer, family_form=form)


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
    pairs = actions.possible_duplicates(request.user.organisation)
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
        actions.do_merge_customers(
            keep=keep, duplicate=duplicate, actor=request.user, request=request
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customers:duplicates")
    messages.success(
        request,
        _("“%(dup)s” was merged into “%(keep)s”.") % {"dup": duplicate.name, "keep": keep.name},
    )
    return redirect("customers:detail", keep.pk)
