"""The owner's PIPL screen for one customer: download everything held about her, or erase her."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Role
from huitouke.customers.models import Customer
from huitouke.customers.privacy import do_erase_customer, do_export_customer_data
from huitouke.customers.queries import get_customer_for


def _erased_for(request: AuthedRequest, pk: int) -> Customer | None:
    # An erased customer is in no list, but her owner can still see when she was erased.
    org = request.user.organisation_id
    if org is None:
        return None
    return Customer.objects.filter(organisation_id=org, pk=pk, erased_at__isnull=False).first()


@login_required
def privacy(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    customer = _erased_for(request, pk) or get_customer_for(request, pk)
    return render(
        request,
        "customers/privacy.html",
        {"customer": customer, "active_nav": "customers"},
    )


@login_required
def privacy_export(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    customer = get_customer_for(request, pk)
    body = do_export_customer_data(customer, actor=request.user, request=request)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@require_POST
def privacy_erase(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    customer = get_customer_for(request, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the erasure."))
        return redirect("customers:privacy", pk)
    do_erase_customer(customer, actor=request.user, request=request)
    messages.success(
        request,
        _("Her personal data was erased; her orders stay as anonymous records."),
    )
    return redirect("customers:privacy", pk)
