"""Automation screens: rule list with ready-made templates, the editor, campaigns, results."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.accounts.scoping import customer_q
from huitouke.automation import queries
from huitouke.automation.actions import do_save_rule, do_set_rule_active, may_change_rule, new_rule
from huitouke.automation.forms import FESTIVAL_LABELS, CampaignForm, RuleForm
from huitouke.automation.models import AutomationRule, Enrolment, Trigger
from huitouke.automation.presets import BY_CODE, enable_template, template_choices
from huitouke.automation.results import rule_results
from huitouke.automation.triggers import upcoming_festivals
from huitouke.messaging.models import MessageStatus
from huitouke.segments.compiler import SegmentError
from huitouke.segments.describe import describe_definition


def _require_editor(request: AuthedRequest) -> None:
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied


def _get_rule(request: AuthedRequest, pk: int) -> AutomationRule:
    try:
        return AutomationRule.objects.select_related("segment", "organisation").get(
            pk=pk, organisation_id=request.user.organisation_id
        )
    except AutomationRule.DoesNotExist as exc:
        raise Http404 from exc


def _form_errors(form: Any, exc: ValidationError) -> None:
    names = {"params": "trigger", "actions": None, "holdout_share": "holdout_percent"}
    for field, problems in (
        exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    ).items():
        target = names.get(field, field) if field else None
        for problem in problems:
            form.add_error(target if target in form.fields else None, problem)


@login_required
def rule_list(request: AuthedRequest) -> HttpResponse:
    """The organisation's rules and campaigns, and the ready-made templates to switch on."""
    _require_editor(request)
    rules = list(queries.rules_with_counts(request.user))
    return render(
        request,
        "automation/list.html",
        {
            "rules": [r for r in rules if r.trigger != Trigger.MANUAL],
            "campaigns": [r for r in rules if r.trigger == Trigger.MANUAL],
            "templates": template_choices(request.user.organisation),
            "active_nav": "automation",
        },
    )


@login_required
@require_POST
def template_enable(request: AuthedRequest, code: str) -> HttpResponse:
    """Switch on a ready-made rule with one click."""
    _require_editor(request)
    if code not in BY_CODE:
        raise Http404
    try:
        rule = enable_template(request.user.organisation, code, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("automation:list")
    messages.success(request, _("“%(name)s” is on.") % {"name": rule.name})
    return redirect("automation:detail", rule.pk)


@login_required
def rule_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a rule."""
    _require_editor(request)
    organisation = request.user.organisation
    rule = (
        _get_rule(request, pk) if pk else new_rule(organisation, name="", trigger=Trigger.BIRTHDAY)
    )
    if rule.is_campaign:
        raise Http404
    initial = RuleForm.initial_for(rule) if pk else {"trigger": Trigger.BIRTHDAY, "is_active": True}
    form = RuleForm(request.POST or None, initial=initial, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_rule(form.apply(rule), actor=request.user, request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("automation:detail", rule.pk)
    return render(
        request,
        "automation/edit.html",
        {
            "form": form,
            "rule": rule if pk else None,
            "active_nav": "automation",
            # The saved conditions in words (stores, staff, categories by name), under the JSON.
            "conditions_text": describe_definition(rule.conditions, organisation)
            if pk and rule.conditions and rule.conditions.get("conditions")
            else "",
        },
    )


@login_required
@require_POST
def rule_preview(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Before a rule is saved: whom it would reach now (by reason left out) and a sample message."""
    _require_editor(request)
    organisation = request.user.organisation
    rule = (
        _get_rule(request, pk) if pk else new_rule(organisation, name="", trigger=Trigger.BIRTHDAY)
    )
    form = RuleForm(request.POST, organisation=organisation)
    ctx: dict[str, Any] = {"preview": None, "sample": None, "invalid": not form.is_valid()}
    if form.is_valid():
        rule = form.apply(rule)  # in memory only: nothing is saved here
        rule.set_scope(request.user)
        try:
            ctx["preview"] = queries.audience_preview(rule)
            ctx["sample"] = queries.sample_message(rule, request.user)
        except (ValidationError, SegmentError):
            ctx["invalid"] = True
        ctx["channel"] = next(
            (a["channel"] for a in rule.actions if a.get("type") == "send_message"), ""
        )
        ctx["tasks"] = any(a.get("type") == "create_task" for a in rule.actions)
    return render(request, "automation/_rule_preview.html", ctx)


@login_required
def campaign_edit(request: AuthedRequest) -> HttpResponse:
    """A one-off campaign to a segment, with a live count of who it would reach."""
    _require_editor(request)
    organisation = request.user.organisation
    form = CampaignForm(request.POST or None, organisation=organisation)
    preview = None
    refusal: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        rule = form.apply(new_rule(organisation, name="", trigger=Trigger.MANUAL))
        rule.set_scope(request.user)  # the preview counts whom she may reach, as the send will
        if request.POST.get("preview") or request.htmx:
            preview = queries.audience_preview(rule)
        elif (reach := queries.audience_preview(rule))["contacted"] == 0:
            # Refused before it starts: nobody would get it; say why and what to do.
            preview, refusal = reach, queries.why_nobody(rule, reach)
        else:
            try:
                do_save_rule(rule, actor=request.user, request=request)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Campaign scheduled."))
                return redirect("automation:detail", rule.pk)
    if request.htmx:
        return render(request, "automation/_preview.html", {"preview": preview, "form": form})
    return render(
        request,
        "automation/campaign.html",
        {"form": form, "preview": preview, "refusal": refusal, "active_nav": "automation"},
    )


@login_required
def rule_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A rule's results (table and chart) and its latest enrolments."""
    _require_editor(request)
    rule = _get_rule(request, pk)
    results = rule_results(rule, viewer=request.user)
    chart = {
        "labels": [_("Contacted"), _("Holdout")],
        "conversion": [
            round((results.conversion_rate or 0) * 100, 1),
            round((results.holdout_conversion_rate or 0) * 100, 1),
        ],
        "revenue": [
            float(results.revenue_per_customer or 0),
            float(results.holdout_revenue_per_customer or 0),
        ],
        "names": [_("Conversion rate (%)"), _("Revenue per customer (yuan)")],
    }
    enrolments = (
        Enrolment.objects.filter(rule=rule)
        .filter(customer_q(request.user, "customer__"))
        .select_related("customer")
        .order_by("-due_at", "-id")[:50]
    )
    for enrolment in enrolments:
        enrolment.occasion = queries.occasion_label(rule, enrolment.occurrence_key)  # type: ignore[attr-defined]
    return render(
        request,
        "automation/detail.html",
        {
            "rule": rule,
            "may_change": may_change_rule(request.user, rule),
            "results": results,
            "chart_json": json.dumps(chart, ensure_ascii=False),
            "enrolments": enrolments,
            "failed_messages": rule.messages.filter(
                customer_q(request.user, "customer__"), status=MessageStatus.FAILED
            ).count(),
            "preview": (
                queries.audience_preview(rule, viewer=request.user) if rule.is_campaign else None
            ),
            "upcoming": _upcoming(rule),
            "active_nav": "automation",
        },
    )


def _upcoming(rule: AutomationRule) -> list[tuple[str, Any]]:
    """A festival rule's next three dates (name, date), in the organisation's calendar."""
    if rule.trigger != Trigger.FESTIVAL:
        return []
    today = timezone.now().astimezone(ZoneInfo(rule.organisation.time_zone)).date()
    return [
        (str(FESTIVAL_LABELS.get(f.code, f.name_zh)), f.date)
        for f in upcoming_festivals(rule.params, today)
    ]


@login_required
@require_POST
def rule_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    """Switch a rule on or off."""
    _require_editor(request)
    rule = _get_rule(request, pk)
    do_set_rule_active(rule, not rule.is_active, actor=request.user, request=request)
    messages.success(request, _("Rule switched on.") if rule.is_active else _("Rule switched off."))
    if request.POST.get("next") == "detail":
        return redirect("automation:detail", rule.pk)
    return redirect("automation:list")
