"""Loyalty screens: rules and tiers (owner), coupon templates and issuing, points history, the checkout summary."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Role
from huitouke.customers.models import Customer
from huitouke.customers.phones import normalise_phone
from huitouke.customers.queries import customer_for_phone, get_customer_for
from huitouke.loyalty import coupons as coupon_actions
from huitouke.loyalty.actions import do_adjust_points
from huitouke.loyalty.checkout import quote_checkout
from huitouke.loyalty.forms import (
    AdjustPointsForm,
    CouponTemplateForm,
    IssueCouponsForm,
    LoyaltySettingsForm,
    OrderHeaderForm,
    OrderLineFormSet,
    TierFormSet,
    VoidCouponForm,
)
from huitouke.loyalty.models import Coupon, CouponTemplate, PointsEntry, Tier
from huitouke.loyalty.program import do_update_program, ensure_program
from huitouke.loyalty.queries import template_results, usable_coupons


def _messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
def settings_page(request: AuthedRequest) -> HttpResponse:
    """The organisation's points rules and tiers (owner only)."""
    require_role(request, Role.OWNER)
    org = request.user.organisation
    rules = ensure_program(org)
    form = LoyaltySettingsForm(request.POST or None, instance=rules, prefix="rules")
    tiers = TierFormSet(
        request.POST or None, queryset=Tier.objects.filter(organisation=org), prefix="tiers"
    )
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        changed = tiers.save(commit=False)
        try:
            do_update_program(
                form.save(commit=False),
                tiers=changed,
                deleted=tiers.deleted_objects,
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
        else:
            messages.success(
                request, _("Membership rules saved; members' tiers are being updated.")
            )
            return redirect("loyalty:settings")
    return render(
        request, "loyalty/settings.html", {"form": form, "tiers": tiers, "active_nav": "loyalty"}
    )


@login_required
def template_list(request: AuthedRequest) -> HttpResponse:
    """Coupon templates with issued / used / expired counts and the revenue of the orders that used them."""
    require_role(request, Role.OWNER, Role.MANAGER)
    templates = template_results(request.user.organisation_id)
    return render(
        request, "loyalty/coupons.html", {"templates": templates, "active_nav": "loyalty"}
    )


@login_required
def template_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a coupon template (owner only)."""
    require_role(request, Role.OWNER)
    org = request.user.organisation
    ensure_program(org)
    instance = get_object_or_404(CouponTemplate, pk=pk, organisation=org) if pk else None
    form = CouponTemplateForm(request.POST or None, instance=instance, organisation=org)
    if request.method == "POST" and form.is_valid():
        try:
            coupon_actions.do_save_template(
                form.save(commit=False),
                actor=request.user,
                categories=form.cleaned_data["categories"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Coupon “%(name)s” saved.") % {"name": form.instance.name})
            return redirect("loyalty:coupons")
    return render(
        request,
        "loyalty/template_form.html",
        {"form": form, "template_obj": instance, "active_nav": "loyalty"},
    )


def _find_customers(request: AuthedRequest, entries: list[str]) -> tuple[list[Customer], list[str]]:
    """The visible customers named by mobile numbers or customer numbers; the entries not found."""
    visible = Customer.objects.visible_to(request.user)
    found: dict[int, Customer] = {}
    missing = []
    for entry in entries:
        customer = None
        try:
            phone = normalise_phone(entry)
        except ValidationError:
            phone = ""
        if phone:
            customer = visible.filter(phone=phone).first()
        if customer is None:
            customer = visible.filter(external_id=entry).first()
        if customer is None:
            missing.append(entry)
        else:
            found.setdefault(customer.pk, customer)
    return list(found.values()), missing


@login_required
def issue(request: AuthedRequest) -> HttpResponse:
    """Issue a coupon to one customer (from her page) or to a typed list of customers."""
    require_role(request, Role.OWNER, Role.MANAGER)
    org = request.user.organisation
    initial: dict[str, Any] = {"template": request.GET.get("template")}
    preset = None
    if request.GET.get("customer", "").isdigit():
        # Named by id, shown by name and her number as this user may see it (never in full to a
        # manager: issue 14 item 4).
        preset = get_customer_for(request, int(request.GET["customer"]))
        initial["customer"] = preset.pk
    form = IssueCouponsForm(request.POST or None, organisation=org, initial=initial)
    if preset is not None:
        del form.fields["customers"]
    if request.method == "POST" and form.is_valid():
        template = form.cleaned_data["template"]
        if form.cleaned_data.get("customer"):
            customers, missing = (
                [get_customer_for(request, form.cleaned_data["customer"])],
                list[str](),
            )
        else:
            customers, missing = _find_customers(request, form.entries())
        result = coupon_actions.do_issue_coupons(
            template, customers, actor=request.user, request=request
        )
        if result.issued:
            messages.success(request, _("%(n)s coupons issued.") % {"n": len(result.issued)})
        for customer, reason in result.skipped:
            messages.warning(request, f"{customer.name}: {reason}")
        if missing:
            messages.warning(
                request, _("Not found: %(entries)s") % {"entries": ", ".join(missing[:20])}
            )
        back = request.POST.get("next", "")
        if back.startswith("/") and not back.startswith("//"):
            return redirect(back)
        return redirect("loyalty:coupons")
    return render(
        request, "loyalty/issue.html", {"form": form, "preset": preset, "active_nav": "loyalty"}
    )


def _coupon_for(request: AuthedRequest, pk: int) -> Coupon:
    coupon = (
        Coupon.objects.select_related("template", "customer")
        .filter(pk=pk, organisation_id=request.user.organisation_id)
        .first()
    )
    if (
        coupon is None
        or not Customer.objects.visible_to(request.user).filter(pk=coupon.customer_id).exists()
    ):
        raise Http404
    return coupon


@login_required
@require_POST
def void_coupon(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER, Role.MANAGER)
    coupon = _coupon_for(request, pk)
    form = VoidCouponForm(request.POST)
    try:
        reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
        coupon_actions.do_void_coupon(coupon, actor=request.user, reason=reason, request=request)
        messages.success(request, _("Coupon %(code)s voided.") % {"code": coupon.code})
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    return redirect("customers:detail", coupon.customer_id)


@login_required
def points_history(request: AuthedRequest, pk: int) -> HttpResponse:
    """Every points entry of one customer, newest first."""
    customer = get_customer_for(request, pk)
    entries = (
        PointsEntry.objects.filter(customer=customer)
        .select_related("order", "actor")
        .order_by("-created_at", "-id")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "loyalty/history.html",
        {"customer": customer, "page": page, "active_nav": "customers"},
    )


@login_required
@require_POST
def adjust_points(request: AuthedRequest, pk: int) -> HttpResponse:
    """Add or remove points by hand with a reason (owner and managers)."""
    require_role(request, Role.OWNER, Role.MANAGER)
    customer = get_customer_for(request, pk)
    form = AdjustPointsForm(request.POST)
    if form.is_valid():
        try:
            do_adjust_points(customer, actor=request.user, request=request, **form.cleaned_data)
            messages.success(request, _("Points adjusted."))
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("customers:detail", pk)


def _checkout_customer(request: AuthedRequest, data: dict[str, Any]) -> Customer | None:
    if data.get("customer"):
        return Customer.objects.visible_to(request.user).filter(pk=data["customer"]).first()
    raw = (data.get("phone") or "").strip()
    try:
        phone = normalise_phone(raw) if raw else ""
    except ValidationError:
        return None
    if not phone:
        return None
    # As the quick order does: only a customer in the user's scope; the order refuses the others.
    try:
        return customer_for_phone(request.user, phone)
    except ValidationError:
        return None


@login_required
@require_POST
def checkout_preview(request: AuthedRequest) -> HttpResponse:
    """HTMX: the quick order's amounts with the customer's tier discount, coupon and points."""
    org = request.user.organisation
    header = OrderHeaderForm(request.POST, user=request.user)
    formset = OrderLineFormSet(request.POST, prefix="lines", form_kwargs={"organisation": org})
    header.is_valid()
    data = getattr(header, "cleaned_data", {})
    # The lines complete so far: a line still being typed (no price yet) does not blank the rest.
    lines = [f.line() for f in formset.forms if f.is_valid() and f.cleaned_data]
    customer = _checkout_customer(request, data)
    quote = quote_checkout(
        organisation=org,
        customer=customer,
        lines=lines,
        discount=data.get("discount") or 0,
        coupon_code=data.get("coupon") or "",
        points=data.get("points") or 0,
    )
    visible = (
        customer is not None
        and Customer.objects.visible_to(request.user).filter(pk=customer.pk).exists()
    )
    # Her price follows her tier either way; her name, points and coupons only for staff who see her.
    shown = customer if visible else None
    ctx = {"quote": quote, "customer": shown, "usable": usable_coupons(shown) if shown else []}
    return render(request, "loyalty/_checkout_summary.html", ctx)
