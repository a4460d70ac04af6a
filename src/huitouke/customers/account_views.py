"""Screens of the accounts section that write customers' data: handover, shop settings.

They sit in customers (above accounts) and are routed under /accounts/ by huitouke/urls.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.actions import do_save_organisation
from huitouke.accounts.forms import HandoverForm, OrganisationForm
from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Role
from huitouke.audit.actions import record_audit
from huitouke.customers.archive_fields import (
    apply_industry_template,
    do_deactivate_custom_field,
    do_reactivate_custom_field,
    do_save_custom_field,
)
from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.customers.field_forms import CustomFieldForm
from huitouke.customers.models import CustomField
from huitouke.customers.ownership import do_hand_over_customers, handover_preview


@login_required
def handover(request: AuthedRequest) -> HttpResponse:
    require_role(request, Role.OWNER, Role.MANAGER)
    form = HandoverForm(
        request.POST or None, user=request.user, initial={"from_staff": request.GET.get("from")}
    )
    if request.method == "POST" and form.is_valid() and "confirm" not in request.POST:
        # First what will move, then the handover itself (a second POST with "confirm").
        preview = handover_preview(
            form.cleaned_data["from_staff"], list(form.cleaned_data["to_staff"])
        )
        ctx = {"form": form, "preview": preview, "active_nav": "staff"}
        return render(request, "accounts/handover.html", ctx)
    if request.method == "POST" and form.is_valid():
        try:
            moved = do_hand_over_customers(
                from_staff=form.cleaned_data["from_staff"],
                to_staff=list(form.cleaned_data["to_staff"]),
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("%(n)s customers handed over.") % {"n": moved})
            return redirect("accounts:staff")
    return render(request, "accounts/handover.html", {"form": form, "active_nav": "staff"})


def _audit_settings(request: AuthedRequest, detail: dict[str, object]) -> None:
    org = request.user.organisation
    record_audit(
        actor=request.user,
        organisation=org,
        action="settings",
        target=org,
        request=request,
        detail=detail,
    )


@login_required
def organisation_settings(request: AuthedRequest) -> HttpResponse:
    """The owner's shop settings: name, industry, time zone, lifecycle and RFM thresholds, archive templates."""
    require_role(request, Role.OWNER)
    org = request.user.organisation
    form = OrganisationForm(request.POST or None, instance=org)
    if request.method == "POST" and "template" in request.POST:
        template = request.POST["template"]
        try:
            created = apply_industry_template(org, template)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _audit_settings(request, {"template": template})
            messages.success(request, _("%(n)s archive fields added.") % {"n": created})
        return redirect("accounts:organisation")
    if request.method == "POST" and form.is_valid():
        do_save_organisation(
            form.save(commit=False), actor=request.user, changed=form.changed_data, request=request
        )
        messages.success(request, _("Saved."))
        return redirect("accounts:organisation")
    ctx = {
        "form": form,
        "templates": [(key, len(fields)) for key, fields in INDUSTRY_TEMPLATES.items()],
        "fields": CustomField.objects.filter(organisation=org),
        "active_nav": "staff",
    }
    return render(request, "accounts/organisation.html", ctx)


@login_required
def custom_fields(request: AuthedRequest) -> HttpResponse:
    """The owner's archive fields: the list, each with its edit and deactivate."""
    require_role(request, Role.OWNER)
    fields = CustomField.objects.filter(organisation=request.user.organisation)
    return render(
        request,
        "customers/fields.html",
        {"fields": fields, "active_nav": "staff"},
    )


@login_required
def custom_field_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    require_role(request, Role.OWNER)
    org = request.user.organisation
    field = (
        get_object_or_404(CustomField, pk=pk, organisation=org)
        if pk
        else CustomField(organisation=org)
    )
    form = CustomFieldForm(request.POST or None, instance=field)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_custom_field(form.instance, actor=request.user, request=request)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error("choices_text" if name == "choices" else name, errors)
        else:
            messages.success(request, _("Field “%(l)s” saved.") % {"l": form.instance.label})
            return redirect("accounts:fields")
    ctx = {"form": form, "field": field if pk else None, "active_nav": "staff"}
    return render(request, "customers/field_form.html", ctx)


@login_required
@require_POST
def custom_field_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    field = get_object_or_404(CustomField, pk=pk, organisation=request.user.organisation)
    do_deactivate_custom_field(field, actor=request.user, request=request)
    messages.success(
        request,
        _("Field “%(l)s” deactivated; what customers had in it stays in their archive.")
        % {"l": field.label},
    )
    return redirect("accounts:fields")


@login_required
@require_POST
def custom_field_reactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    field = get_object_or_404(CustomField, pk=pk, organisation=request.user.organisation)
    do_reactivate_custom_field(field, actor=request.user, request=request)
    messages.success(
        request,
        _("Field “%(l)s” is active again, with what customers had in it.") % {"l": field.label},
    )
    return redirect("accounts:fields")
