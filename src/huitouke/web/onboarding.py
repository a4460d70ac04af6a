"""The owner's first hour: a short setup after `huitouke createowner` or on an empty shop.

Steps: the shop (name, trade → archive template and categories with cycles), first customers
(add one or import the Excel she keeps), tiers and points, a message channel, one recommended
automation. Every step can be skipped, the step she is on is remembered (resumable), and every
write goes through an action of the app that owns it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huitouke.accounts.actions import do_save_organisation, do_set_onboarding_step
from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Industry, Organisation, Role
from huitouke.automation.models import AutomationRule
from huitouke.automation.presets import BY_CODE, enable_template
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.actions import do_create_customer
from huitouke.customers.archive_fields import apply_industry_template
from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.customers.models import Customer
from huitouke.imports.actions import do_create_import_job, do_queue_import
from huitouke.imports.models import ImportJob, ImportKind, ImportMode, ImportStatus
from huitouke.loyalty.models import Tier
from huitouke.loyalty.program import do_update_program, ensure_program
from huitouke.messaging.actions import channel_ready
from huitouke.messaging.models import Channel
from huitouke.sales.actions import INDUSTRY_CATEGORIES, do_apply_category_template

STEPS = ("shop", "customers", "loyalty", "channel", "automation")
STEP_TITLES = {
    "shop": gettext_lazy("Your shop"),
    "customers": gettext_lazy("First customers"),
    "loyalty": gettext_lazy("Tiers and points"),
    "channel": gettext_lazy("Message channel"),
    "automation": gettext_lazy("One automation"),
}
# The automations offered, the first the recommended one: a task for her owner needs no
# channel; the coupon by SMS needs one set up.
AUTOMATION_CHOICES = ("vip_birthday_card", "birthday_coupon", "repurchase_reminder")
# The columns of the order book a shop already keeps (seed 000), shown as the example.
EXAMPLE_COLUMNS = ("顾客姓名", "下单日期", "所购买的产品名称", "数量", "售价", "购买品类")


def should_start(user: Any) -> bool:
    """Send the owner to the setup: `createowner` started it, it is not finished or skipped,
    and her shop has no customer yet."""
    org = getattr(user, "organisation", None)
    if org is None or getattr(user, "role", "") != Role.OWNER or org.onboarding_done_at:
        return False
    if org.onboarding_step not in STEPS:
        return False
    return not Customer.objects.filter(organisation=org).exists()


def unfinished(user: Any) -> bool:
    """The setup was started and neither finished nor skipped (the dashboard offers to go on)."""
    org = getattr(user, "organisation", None)
    return bool(
        org is not None
        and getattr(user, "role", "") == Role.OWNER
        and org.onboarding_done_at is None
        and org.onboarding_step
    )


def _org(request: AuthedRequest) -> Organisation:
    org = request.user.organisation
    if org is None:
        raise Http404
    return org


def _next(step: str) -> str:
    index = STEPS.index(step) + 1
    return STEPS[index] if index < len(STEPS) else "done"


class ShopForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Shop name"), max_length=100)
    industry = forms.ChoiceField(label=gettext_lazy("Trade"), choices=Industry.choices)


class FirstCustomerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Customer name"), max_length=50)
    phone = forms.CharField(label=gettext_lazy("Mobile phone"), max_length=30, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Your Excel or CSV file"))


class LoyaltyForm(forms.Form):
    points_per_yuan = forms.DecimalField(
        label=gettext_lazy("Points per yuan paid"), min_value=Decimal(0), max_digits=6
    )


class ChannelForm(forms.Form):
    choice = forms.ChoiceField(
        choices=[
            ("task", gettext_lazy("Staff tasks: messages become calls and WeChat tasks")),
            ("sms", gettext_lazy("Text messages (SMS): I will set up a provider")),
        ],
        widget=forms.RadioSelect,
        initial="task",
    )


class AutomationForm(forms.Form):
    template = forms.ChoiceField(choices=[(c, c) for c in AUTOMATION_CHOICES])


@login_required
def start(request: AuthedRequest) -> HttpResponse:
    """/welcome/: the step she is on (resumable)."""
    require_role(request, Role.OWNER)
    org = _org(request)
    step = org.onboarding_step if org.onboarding_step in (*STEPS, "done") else "shop"
    return redirect("onboarding_step", step)


def _advance(request: AuthedRequest, step: str) -> HttpResponse:
    following = _next(step)
    org = _org(request)
    do_set_onboarding_step(
        org, following, actor=request.user, done=following == "done", request=request
    )
    return redirect("onboarding_step", following)


@login_required
def step_view(request: AuthedRequest, step: str) -> HttpResponse:
    require_role(request, Role.OWNER)
    org = _org(request)
    if step not in (*STEPS, "done"):
        raise Http404
    if request.method == "POST" and "skip_all" in request.POST:
        do_set_onboarding_step(org, step, actor=request.user, done=True, request=request)
        messages.info(request, _("Setup skipped; the guide and every setting stay available."))
        return redirect("dashboard")
    if request.method == "POST" and "skip" in request.POST and step in STEPS:
        return _advance(request, step)
    if org.onboarding_step != step and step in STEPS:
        do_set_onboarding_step(org, step, actor=request.user, request=request)
    handler = {
        "shop": _shop,
        "customers": _customers,
        "loyalty": _loyalty,
        "channel": _channel,
        "automation": _automation,
        "done": _done,
    }[step]
    result = handler(request)
    if isinstance(result, HttpResponse):
        return result
    ctx = {
        "step": step,
        "steps": [(s, STEP_TITLES[s], i + 1) for i, s in enumerate(STEPS)],
        "number": STEPS.index(step) + 1 if step in STEPS else len(STEPS),
        "total": len(STEPS),
        "title": STEP_TITLES.get(step, _("All set")),
        "help_anchor": "first-hour",
        **result,
    }
    return render(request, "web/onboarding.html", ctx)


def _shop(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    form = ShopForm(request.POST or None, initial={"name": org.name, "industry": org.industry})
    if request.method == "POST" and form.is_valid():
        changed = [f for f in ("name", "industry") if form.cleaned_data[f] != getattr(org, f)]
        org.name = form.cleaned_data["name"].strip()
        org.industry = form.cleaned_data["industry"]
        do_save_organisation(org, actor=request.user, changed=changed, request=request)
        fields = 0
        if org.industry in INDUSTRY_TEMPLATES:
            fields = apply_industry_template(org, org.industry)
        categories = do_apply_category_template(
            org, org.industry, actor=request.user, request=request
        )
        messages.success(
            request,
            _("Saved: %(fields)s archive fields and %(categories)s categories with cycles added.")
            % {"fields": fields, "categories": categories},
        )
        return _advance(request, "shop")
    return {
        "form": form,
        "templates": {
            key: [(name, days) for name, days in cats] for key, cats in INDUSTRY_CATEGORIES.items()
        },
    }


def _latest_job(org: Any) -> ImportJob | None:
    return ImportJob.objects.filter(organisation=org, kind=ImportKind.ORDERS).first()


def _customers(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    add_form = FirstCustomerForm(request.POST if "add" in request.POST else None)
    upload_form = UploadForm(
        request.POST if "upload" in request.POST else None,
        request.FILES if "upload" in request.POST else None,
    )
    if request.method == "POST" and "add" in request.POST and add_form.is_valid():
        try:
            customer = do_create_customer(
                organisation=org,
                actor=request.user,
                name=add_form.cleaned_data["name"],
                phone=add_form.cleaned_data["phone"] or None,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in add_form.fields else None
                for error in errors:
                    add_form.add_error(target, error)
        else:
            messages.success(request, _("%(name)s added.") % {"name": customer.name})
            return redirect("onboarding_step", "customers")
    if request.method == "POST" and "upload" in request.POST and upload_form.is_valid():
        try:
            job = do_create_import_job(
                organisation=org,
                actor=request.user,
                upload=upload_form.cleaned_data["file"],
                kind=ImportKind.ORDERS,
            )
        except ValidationError as exc:
            upload_form.add_error(None, exc.messages)
        else:
            enqueue_on_commit("huitouke.imports.tasks.run_import", job.pk, analyse=True)
            return redirect("onboarding_step", "customers")
    if request.method == "POST" and "import" in request.POST:
        latest = _latest_job(org)
        if latest is not None and do_queue_import(
            latest, actor=request.user, mode=ImportMode.GOOD_ROWS
        ):
            enqueue_on_commit("huitouke.imports.tasks.run_import", latest.pk, analyse=False)
        return redirect("onboarding_step", "customers")
    shown = _latest_job(org)
    return {
        "add_form": add_form,
        "upload_form": upload_form,
        "job": shown,
        "job_ready": shown is not None and shown.status == ImportStatus.READY,
        "job_active": shown is not None and shown.is_active,
        "customers_count": Customer.objects.active().filter(organisation=org).count(),
        "example_columns": EXAMPLE_COLUMNS,
        "import_url": reverse("imports:list"),
    }


def _loyalty(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    rules = ensure_program(org)
    tiers = list(Tier.objects.filter(organisation=org).order_by("threshold"))
    form = LoyaltyForm(request.POST or None, initial={"points_per_yuan": rules.points_per_yuan})
    if request.method == "POST" and form.is_valid():
        rules.points_per_yuan = form.cleaned_data["points_per_yuan"]
        changed: list[Tier] = []
        errors: list[str] = []
        for tier in tiers:
            raw = request.POST.get(f"tier-{tier.pk}", "").strip().replace(",", "").lstrip("¥")
            if raw == "":
                continue
            try:
                value = Decimal(raw)
            except ArithmeticError:
                errors.append(_("%(name)s: enter an amount in yuan.") % {"name": tier.name})
                continue
            if value < 0:
                errors.append(_("%(name)s: the amount cannot be negative.") % {"name": tier.name})
                continue
            if value != tier.threshold:
                tier.threshold = value
                changed.append(tier)
        if not errors:
            try:
                do_update_program(rules, tiers=changed, actor=request.user, request=request)
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(request, _("Tiers and points saved."))
                return _advance(request, "loyalty")
        for error in errors:
            form.add_error(None, error)
    rows = [
        (
            t,
            request.POST.get(f"tier-{t.pk}", "")
            if request.method == "POST"
            else f"{t.threshold:.0f}",
        )
        for t in tiers
    ]
    return {"form": form, "tiers": rows}


def _channel(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["choice"] == "sms" and not channel_ready(org.pk, Channel.SMS):
            do_set_onboarding_step(org, "automation", actor=request.user, request=request)
            return redirect(reverse("messaging:channels"))
        return _advance(request, "channel")
    return {
        "form": form,
        "sms_ready": channel_ready(org.pk, Channel.SMS),
        "email_ready": channel_ready(org.pk, Channel.EMAIL),
    }


def _automation(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    form = AutomationForm(request.POST or None, initial={"template": AUTOMATION_CHOICES[0]})
    if request.method == "POST" and form.is_valid():
        rule = enable_template(
            org, form.cleaned_data["template"], actor=request.user, request=request
        )
        messages.success(request, _("“%(name)s” is switched on.") % {"name": rule.name})
        return _advance(request, "automation")
    sms = channel_ready(org.pk, Channel.SMS)
    return {
        "form": form,
        "choices": [
            (
                code,
                BY_CODE[code],
                code == AUTOMATION_CHOICES[0],
                code != "vip_birthday_card" and not sms,
            )
            for code in AUTOMATION_CHOICES
        ],
        "active_rules": AutomationRule.objects.filter(organisation=org, is_active=True),
    }


def _done(request: AuthedRequest) -> dict[str, Any] | HttpResponse:
    org = _org(request)
    if org.onboarding_done_at is None:
        do_set_onboarding_step(org, "done", actor=request.user, done=True, request=request)
    return {
        "customers_count": Customer.objects.active().filter(organisation=org).count(),
        "active_rules": AutomationRule.objects.filter(organisation=org, is_active=True),
    }
