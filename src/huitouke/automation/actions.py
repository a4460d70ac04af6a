"""Writes to automation rules: save (validated), switch on and off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.automation.models import AutomationRule
from huitouke.automation.rule_actions import clean_rule


def do_save_rule(rule: AutomationRule, *, actor: Any, request: Any = None) -> AutomationRule:
    """Create or change a rule after checking every part of it; audited."""
    clean_rule(rule)
    created = rule.pk is None
    if created and getattr(actor, "pk", None):
        rule.created_by = actor
    was_active = not created and AutomationRule.objects.filter(pk=rule.pk, is_active=True).exists()
    if rule.is_active and (not was_active or rule.activated_at is None):
        rule.activated_at = timezone.now()
    try:
        with transaction.atomic():
            rule.save()
            record_audit(
                actor=actor,
                organisation=rule.organisation,
                action="automation_create" if created else "automation_edit",
                target=rule,
                request=request,
                detail={"trigger": rule.trigger, "active": rule.is_active},
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _("Another rule already has this name.")}) from exc
    return rule


def do_set_rule_active(
    rule: AutomationRule, active: bool, *, actor: Any, request: Any = None
) -> AutomationRule:
    """Switch a rule on or off; scheduled enrolments of a rule switched off are skipped."""
    with transaction.atomic():
        fields: dict[str, Any] = {"is_active": active}
        if active:
            fields["activated_at"] = timezone.now()
        AutomationRule.objects.filter(pk=rule.pk).update(**fields)
        record_audit(
            actor=actor,
            organisation=rule.organisation,
            action="automation_on" if active else "automation_off",
            target=rule,
            request=request,
        )
    rule.refresh_from_db()
    return rule


def new_rule(organisation: Organisation, **fields: Any) -> AutomationRule:
    """An unsaved rule with the defaults for its kind: care rules hold out nobody and skip the cap."""
    rule = AutomationRule(organisation=organisation, **fields)
    if not rule.is_marketing and "holdout_share" not in fields:
        rule.holdout_share = Decimal("0")
    return rule
