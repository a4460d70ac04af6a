"""The quick order, phone first: the customer by phone, last digits, name or member code, the
products by name or pinyin, and the checkout (tier discount, coupon, points) in one screen.

It combines customers, sales and loyalty, so it lives in loyalty, the highest of them, beside
the checkout it runs (docs/architecture.md). Its URLs stay under /sales/order/ with the `sales:`
names (huitouke/urls.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from huitouke.accounts.http import AuthedRequest
from huitouke.customers.actions import do_create_customer
from huitouke.customers.models import Customer
from huitouke.customers.passcode import MAC_DIGITS, TIME_DIGITS, customer_for_pass
from huitouke.customers.phones import normalise_phone
from huitouke.customers.queries import customer_for_phone, get_customer_for, search_customers
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.forms import OrderHeaderForm, OrderLineFormSet
from huitouke.loyalty.queries import checkout_context, order_points_message
from huitouke.sales.actions import LineInput
from huitouke.sales.models import Product
from huitouke.sales.queries import search_products

MEMBER_CODE_MIN_DIGITS = TIME_DIGITS + MAC_DIGITS
LOOKUP_MATCHES = 6


def _resolve_customer(request: AuthedRequest, header: OrderHeaderForm) -> Customer | None:
    """The chosen customer, the organisation's customer with that phone or member code, a new one,
    or walk-in. What the lookup field holds when nobody was chosen decides which."""
    data = header.cleaned_data
    if data.get("customer"):
        return get_customer_for(request, data["customer"])
    raw_phone = (data.get("phone") or "").strip()
    name = (data.get("name") or "").strip()
    if not raw_phone and not name:
        return None
    if _is_member_code(raw_phone):
        try:
            return customer_for_pass(request.user, raw_phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    phone = ""
    if raw_phone:
        try:
            phone = normalise_phone(raw_phone)
        except ValidationError as exc:
            raise ValidationError(
                {"phone": _("Choose one of the customers found, or type her full mobile number.")}
            ) from exc
    if phone:
        existing = customer_for_phone(request.user, phone)  # "not yours" outside her scope
        if existing is not None:
            return existing
    if not name:
        raise ValidationError(
            {"name": _("No customer has this phone yet: type her name to create her.")}
        )
    return do_create_customer(
        organisation=request.user.organisation,
        actor=request.user,
        name=name,
        phone=phone,
        home_store=data["store"],
    )


def _is_member_code(text: str) -> bool:
    """A member code (customers.passcode) is longer than any phone: her id and 13 more digits."""
    digits = "".join(text.split())
    return digits.isdigit() and len(digits) > MEMBER_CODE_MIN_DIGITS


def _order_lines(formset: Any) -> list[LineInput]:
    return [f.line() for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


def _line_rows(formset: Any, organisation: Any) -> list[dict[str, Any]]:
    """Each line's form with its chosen product, so a re-shown form keeps what was picked."""
    chosen = {str(f["product"].value() or "") for f in formset.forms} - {""}
    products = {
        str(p.pk): p
        for p in Product.objects.filter(
            organisation=organisation, pk__in=[pk for pk in chosen if pk.isdigit()]
        )
    }
    rows = []
    for f in formset.forms:
        product = products.get(str(f["product"].value() or ""))
        item = f["item"].value() or (product.name if product else "")
        rows.append({"form": f, "product": product, "item": item})
    return rows


def _visible_customer(request: AuthedRequest, raw: Any) -> Customer | None:
    """The posted customer id as a customer the user may see, else None (a re-shown form)."""
    if not str(raw or "").isdigit():
        return None
    return (
        Customer.objects.visible_to(request.user)
        .select_related("stats", "owner")
        .filter(pk=int(raw))
        .first()
    )


def _customer_context(customer: Customer | None) -> dict[str, Any]:
    return {"chosen": customer, **checkout_context(customer)}


@login_required
def quick_order(request: AuthedRequest) -> HttpResponse:
    """Record a sale, phone first: the customer and the products are looked up in place (HTMX),
    and a refused order comes back as the same form with everything typed still in it."""
    user = request.user
    org = user.organisation
    preset = None
    lookup_error = ""
    if request.GET.get("customer", "").isdigit():
        preset = get_customer_for(request, int(request.GET["customer"]))
    elif request.GET.get("member_code"):
        # Her member code (members app), scanned or typed: found only within the user's scope.
        try:
            preset = customer_for_pass(user, request.GET["member_code"])
        except ValidationError as exc:
            lookup_error = " ".join(exc.messages)
    header = OrderHeaderForm(
        request.POST or None, user=user, initial={"customer": preset.pk if preset else None}
    )
    formset = OrderLineFormSet(
        request.POST or None, prefix="lines", form_kwargs={"organisation": org}
    )
    if request.method == "POST":
        preset = _visible_customer(request, request.POST.get("customer"))
    if request.method == "POST" and header.is_valid() and formset.is_valid():
        try:
            customer = _resolve_customer(request, header)
            # The tier discount, the coupon and the points are checked and applied in one transaction.
            order = do_checkout(
                organisation=org,
                store=header.cleaned_data["store"],
                customer=customer,
                lines=_order_lines(formset),
                actor=user,
                staff=user,
                discount=header.cleaned_data.get("discount") or 0,
                note=header.cleaned_data.get("note") or "",
                coupon_code=header.cleaned_data.get("coupon") or "",
                points=header.cleaned_data.get("points") or 0,
            )
        except ValidationError as exc:
            for field, errors in (
                exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
            ):
                header.add_error(field if field in header.fields else None, errors)
        else:
            messages.success(
                request,
                _("Order #%(id)s saved: ¥%(amount)s.") % {"id": order.pk, "amount": order.net_paid},
            )
            if points_message := order_points_message(order):
                messages.info(request, points_message)
            if (
                customer is not None
                and Customer.objects.visible_to(user).filter(pk=customer.pk).exists()
            ):
                target = reverse("customers:detail", args=[customer.pk])
            else:
                target = reverse("sales:order", args=[order.pk])
            if request.htmx:
                return HttpResponseClientRedirect(target)
            return redirect(target)
    ctx = {
        "header": header,
        "formset": formset,
        "rows": _line_rows(formset, org),
        "lookup_error": lookup_error,
        "active_nav": "order",
        **_customer_context(preset),
    }
    if request.htmx and request.method == "POST":
        # The refused order: only the form is swapped, with every line, note and choice kept.
        return render(request, "loyalty/_quick_order_form.html", ctx)
    return render(request, "loyalty/quick_order.html", ctx)


@login_required
def quick_customer(request: AuthedRequest) -> HttpResponse:
    """HTMX: the quick order's customer panel with her chosen (or the lookup again), and her
    coupons and points swapped beside it; the lines already typed stay as they are."""
    customer = None
    if request.GET.get("customer", "").isdigit():
        customer = get_customer_for(request, int(request.GET["customer"]))
    header = OrderHeaderForm(user=request.user, initial={"customer": customer and customer.pk})
    return render(
        request,
        "loyalty/_quick_customer.html",
        {"header": header, "oob": True, **_customer_context(customer)},
    )


@login_required
def customer_lookup(request: AuthedRequest) -> HttpResponse:
    """HTMX: the customers matching a phone, its last digits, a name or a member code, within
    the user's own scope (the customers app's search). A member code chooses her at once; a full
    phone of someone else's customer says whose she is."""
    text = (request.GET.get("phone") or request.GET.get("q") or "").strip()[:100]
    digits = "".join(text.replace("-", "").split())
    matches: list[Customer] = []
    problem = ""
    if _is_member_code(digits):
        try:
            customer = customer_for_pass(request.user, digits)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        else:
            header = OrderHeaderForm(user=request.user, initial={"customer": customer.pk})
            response = render(
                request,
                "loyalty/_quick_customer.html",
                {"header": header, "oob": True, **_customer_context(customer)},
            )
            return retarget(reswap(response, "outerHTML"), "#qo-customer")
    elif (digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 4) or (
        text and not digits.lstrip("+").isdigit()
    ):
        found = search_customers(request.user, text)
        matches = list(found.select_related("stats")[:LOOKUP_MATCHES])
        if not matches and digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 11:
            try:
                customer_for_phone(request.user, normalise_phone(digits))
            except ValidationError as exc:
                problem = " ".join(exc.messages)
    return render(
        request,
        "loyalty/lookup.html",
        {"matches": matches, "text": text, "problem": problem, "is_phone": _looks_like_phone(text)},
    )


def _looks_like_phone(text: str) -> bool:
    try:
        return bool(text) and bool(normalise_phone(text))
    except ValidationError:
        return False


@login_required
def product_search(request: AuthedRequest) -> HttpResponse:
    """HTMX: products on sale matching a name, a SKU or pinyin initials, with their prices."""
    # A line's search field sends itself (lines-<n>-item); ?q= works too.
    text = request.GET.get("q") or next(
        (str(request.GET[key]) for key in request.GET if key.endswith("-item")), ""
    )
    products = search_products(request.user.organisation, text)
    return render(request, "loyalty/_product_results.html", {"products": products})
