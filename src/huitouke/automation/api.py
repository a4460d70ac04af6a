"""API: automation rules and campaigns (owner or manager), their results, ready-made templates."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from huitouke.accounts.auth import api_user, require_manager
from huitouke.accounts.models import User
from huitouke.automation import queries
from huitouke.automation.actions import do_save_rule, do_set_rule_active, new_rule
from huitouke.automation.models import AutomationRule
from huitouke.automation.presets import BY_CODE, enable_template, template_choices
from huitouke.automation.results import rule_results
from huitouke.automation.rule_actions import clean_rule
from huitouke.automation.schemas import (
    EstimateOut,
    ResultsOut,
    RuleIn,
    RuleOut,
    RulePatch,
    TemplateOut,
)
from huitouke.core.problems import Problem
from huitouke.schemas import ObjectId
from huitouke.segments.models import Segment

router = Router(tags=["automations"])


def _editor(request: HttpRequest) -> User:
    user = api_user(request)
    require_manager(user, _("Only the owner or a manager can work with automations."))
    return user


def _rule(user: User, rule_id: int) -> AutomationRule:
    rule = AutomationRule.objects.filter(pk=rule_id, organisation_id=user.organisation_id).first()
    if rule is None:
        raise Http404
    return rule


def _segment(user: User, segment_id: int | None) -> Segment | None:
    if segment_id is None:
        return None
    segment = Segment.objects.filter(pk=segment_id, organisation_id=user.organisation_id).first()
    if segment is None:
        raise ValidationError({"segment_id": _("Unknown segment.")})
    return segment


def _estimate(rule: AutomationRule) -> dict[str, Any]:
    preview = queries.audience_preview(rule)
    return {k: preview[k] for k in ("matching", "suppressed", "by_channel", "holdout", "contacted")}


def _refuse_if_nobody(rule: AutomationRule) -> None:
    """A campaign switched on that would reach nobody is refused before it starts, as on the
    campaign screen: problem `reaches_nobody`, each reason with what to do in `errors`."""
    if not (rule.is_active and rule.is_campaign):
        return
    clean_rule(rule)  # a broken rule is answered by its own validation_failed first
    reach = queries.audience_preview(rule)
    if reach["contacted"]:
        return
    reasons = queries.why_nobody(rule, reach)
    raise Problem(
        "reaches_nobody",
        _("Not scheduled: this campaign would reach nobody.")
        + " "
        + " ".join(str(r["advice"]) for r in reasons),
        errors=[{"field": None, "message": str(r["advice"])} for r in reasons],
    )


@router.get("/automations", response=list[RuleOut])
def list_rules(request: HttpRequest) -> Any:
    """The organisation's rules and campaigns."""
    user = _editor(request)
    return AutomationRule.objects.filter(organisation_id=user.organisation_id).order_by("id")


@router.post("/automations", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Any:
    """Create a rule; every part is checked (trigger settings, conditions, actions, controls)."""
    user = _editor(request)
    fields = payload.model_dump(exclude={"segment_id", "holdout_share"})
    rule = new_rule(user.organisation, segment=_segment(user, payload.segment_id), **fields)
    if payload.holdout_share is not None:
        rule.holdout_share = payload.holdout_share
    rule.set_scope(user)  # whom it may reach: the author's customers, as saving will record
    _refuse_if_nobody(rule)
    return Status(201, do_save_rule(rule, actor=user, request=request))


@router.post("/automations/estimate", response=EstimateOut)
def estimate_new_rule(request: HttpRequest, payload: RuleIn) -> Any:
    """Whom a rule would reach if it ran now, without saving it: matching, those left out by
    reason, messages per channel, holdout, contacted (the numbers of the editor's preview)."""
    user = _editor(request)
    fields = payload.model_dump(exclude={"segment_id", "holdout_share"})
    rule = new_rule(user.organisation, segment=_segment(user, payload.segment_id), **fields)
    if payload.holdout_share is not None:
        rule.holdout_share = payload.holdout_share
    rule.set_scope(user)
    clean_rule(rule)
    return _estimate(rule)


@router.get("/automations/{rule_id}", response=RuleOut)
def get_rule(request: HttpRequest, rule_id: ObjectId) -> Any:
    """One rule."""
    return _rule(_editor(request), rule_id)


@router.patch("/automations/{rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: ObjectId, payload: RulePatch) -> Any:
    """Change some of a rule's fields."""
    user = _editor(request)
    rule = _rule(user, rule_id)
    changes = payload.model_dump(exclude_unset=True)
    switched_on = bool(changes.get("is_active")) and not rule.is_active
    if "segment_id" in changes:
        rule.segment = _segment(user, changes.pop("segment_id"))
    for field, value in changes.items():
        if value is not None or field in (
            "quiet_start",
            "quiet_end",
            "active_from",
            "active_until",
        ):
            setattr(rule, field, value)
    if switched_on:
        _refuse_if_nobody(rule)
    return do_save_rule(rule, actor=user, request=request)


@router.post("/automations/{rule_id}/activate", response=RuleOut)
def activate_rule(request: HttpRequest, rule_id: ObjectId) -> Any:
    """Switch a rule on."""
    user = _editor(request)
    rule = _rule(user, rule_id)
    if not rule.is_active:
        rule.is_active = True
        _refuse_if_nobody(rule)
    return do_set_rule_active(rule, True, actor=user, request=request)


@router.get("/automations/{rule_id}/estimate", response=EstimateOut)
def estimate_rule(request: HttpRequest, rule_id: ObjectId) -> Any:
    """Whom this rule would reach if it ran now (see POST /automations/estimate)."""
    return _estimate(_rule(_editor(request), rule_id))


@router.post("/automations/{rule_id}/deactivate", response=RuleOut)
def deactivate_rule(request: HttpRequest, rule_id: ObjectId) -> Any:
    """Switch a rule off (scheduled enrolments are skipped)."""
    user = _editor(request)
    return do_set_rule_active(_rule(user, rule_id), False, actor=user, request=request)


@router.get("/automations/{rule_id}/results", response=ResultsOut)
def get_results(request: HttpRequest, rule_id: ObjectId) -> Any:
    """The rule's campaign results: reach, messages, conversions, revenue, cost, ROI, uplift."""
    user = _editor(request)
    return asdict(rule_results(_rule(user, rule_id), viewer=user))


@router.get("/automation-templates", response=list[TemplateOut])
def list_templates(request: HttpRequest) -> Any:
    """The ready-made rules, with the organisation's rule made from each."""
    user = _editor(request)
    return [
        {
            "code": t.code,
            "name": str(t.name),
            "description": str(t.description),
            "trigger": t.trigger,
            "rule_id": rule.pk if rule else None,
            "is_active": bool(rule and rule.is_active),
        }
        for t, rule in template_choices(user.organisation)
    ]


@router.post("/automation-templates/{code}/enable", response={201: RuleOut})
def enable(request: HttpRequest, code: str) -> Any:
    """Switch a ready-made rule on (created on first use)."""
    user = _editor(request)
    if code not in BY_CODE:
        raise Http404
    return Status(201, enable_template(user.organisation, code, actor=user, request=request))
