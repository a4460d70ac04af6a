"""The schema of a rule's action list (send a message, issue a coupon, …) and the checks a rule passes before it is saved."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.accounts.scoping import ALL
from huitouke.automation.models import AutomationRule
from huitouke.automation.triggers import clean_params
from huitouke.loyalty.models import CouponTemplate
from huitouke.messaging.models import Channel, MessageTemplate
from huitouke.messaging.rendering import check_text
from huitouke.messaging.staff_task import ASSIGN_CHOICES
from huitouke.segments.compiler import SegmentError, compile_segment

ACTION_TYPES = (
    "send_message",
    "issue_coupon",
    "create_task",
    "add_tag",
    "remove_tag",
    "award_points",
)
TASK_KINDS = ("call", "wechat", "visit", "gift", "card", "other")


def _error(index: int, message: str) -> ValidationError:
    return ValidationError(
        {"actions": _("Action %(n)s: %(message)s") % {"n": index, "message": message}}
    )


def _template_id(organisation: Organisation, value: Any, channel: str, index: int) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError) as exc:
        raise _error(index, _("choose a message template.")) from exc
    if not MessageTemplate.objects.filter(
        pk=pk, organisation=organisation, channel=channel
    ).exists():
        raise _error(index, _("choose a message template for this channel."))
    return pk


def clean_actions(raw: Any, organisation: Organisation) -> list[dict[str, Any]]:
    """The action list checked against the organisation's templates and coupons (raises ValidationError)."""

    if not isinstance(raw, list) or not raw:
        raise ValidationError({"actions": _("Add at least one action.")})
    if len(raw) > 10:
        raise ValidationError({"actions": _("Use at most 10 actions.")})
    cleaned: list[dict[str, Any]] = []
    for index, action in enumerate(raw, start=1):
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_TYPES:
            raise _error(index, _("unknown action."))
        assert isinstance(action, dict)
        if kind == "send_message":
            channel = action.get("channel")
            if channel not in Channel.values:
                raise _error(index, _("choose a channel."))
            item: dict[str, Any] = {
                "type": kind,
                "channel": channel,
                "template": _template_id(organisation, action.get("template"), channel, index),
                "fallback_channel": "",
                "fallback_template": None,
            }
            fallback = action.get("fallback_channel") or ""
            if fallback:
                if fallback not in Channel.values or fallback == channel:
                    raise _error(index, _("choose another channel as the fallback."))
                item["fallback_channel"] = fallback
                item["fallback_template"] = _template_id(
                    organisation, action.get("fallback_template"), fallback, index
                )
        elif kind == "issue_coupon":
            try:
                pk = int(action.get("coupon_template"))  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise _error(index, _("choose a coupon.")) from exc
            if not CouponTemplate.objects.filter(pk=pk, organisation=organisation).exists():
                raise _error(index, _("choose a coupon."))
            item = {"type": kind, "coupon_template": pk}
        elif kind == "create_task":
            script = str(action.get("script") or "")
            try:
                check_text(script, "script")
            except ValidationError as exc:
                raise _error(index, " ".join(exc.messages)) from exc
            try:
                due_hours = int(action.get("due_hours") or 24)
            except (TypeError, ValueError) as exc:
                raise _error(index, _("the task's due time is in hours.")) from exc
            item = {
                "type": kind,
                "kind": action.get("kind") if action.get("kind") in TASK_KINDS else "call",
                "assign_to": action.get("assign_to")
                if action.get("assign_to") in ASSIGN_CHOICES
                else "customer_owner",
                "title": str(action.get("title") or "").strip()[:100],
                "script": script,
                "due_hours": min(max(due_hours, 1), 24 * 30),
            }
        elif kind in ("add_tag", "remove_tag"):
            tag = str(action.get("tag") or "").strip()[:30]
            if not tag:
                raise _error(index, _("name the tag."))
            item = {"type": kind, "tag": tag}
        else:
            try:
                points = int(action.get("points"))  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                raise _error(index, _("give the points as a whole number.")) from exc
            if not 1 <= points <= 1_000_000:
                raise _error(index, _("give between 1 and 1,000,000 points."))
            item = {"type": kind, "points": points}
        cleaned.append(item)
    if sum(1 for a in cleaned if a["type"] == "issue_coupon") > 1:
        raise ValidationError({"actions": _("A rule issues at most one coupon.")})
    return cleaned


def clean_rule(rule: AutomationRule) -> None:
    """Check and normalise a rule in place (params, conditions, actions, controls)."""
    organisation = rule.organisation
    errors: dict[str, list[str]] = {}

    def collect(exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)

    rule.name = (rule.name or "").strip()[:100]
    if not rule.name:
        errors["name"] = [_("Give the rule a name.")]
    try:
        rule.params = clean_params(rule.trigger, rule.params, organisation)
    except ValidationError as exc:
        collect(exc)
    try:
        rule.actions = clean_actions(rule.actions, organisation)
    except ValidationError as exc:
        collect(exc)
    if rule.segment is not None and rule.segment.organisation_id != organisation.pk:
        errors.setdefault("segment", []).append(_("Unknown segment."))
    if rule.conditions:
        try:
            compile_segment(rule.conditions, organisation, scope=ALL)  # checked only
        except SegmentError as exc:
            # The compiler's messages name the field in words (segments.compiler); the path
            # ("conditions.0.value") is an identifier and stays off the screen.
            errors.setdefault("conditions", []).extend(message for _path, message in exc.errors)
    share = Decimal(str(rule.holdout_share if rule.holdout_share is not None else "0"))
    if not Decimal("0") <= share <= Decimal("0.5"):
        errors.setdefault("holdout_share", []).append(_("Hold out between 0 and 50%."))
    if rule.active_from and rule.active_until and rule.active_until < rule.active_from:
        errors.setdefault("active_until", []).append(_("The end date is before the start date."))
    if (rule.quiet_start is None) != (rule.quiet_end is None):
        errors.setdefault("quiet_end", []).append(
            _("Give both ends of the quiet hours, or neither.")
        )
    if errors:
        raise ValidationError(errors)
