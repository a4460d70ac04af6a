"""Writes to automation rules: save (validated), switch on and off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Role
from huitouke.audit.actions import record_audit
from huitouke.automation.models import AutomationRule
from huitouke.automation.rule_actions import clean_rule


def may_change_rule(user: Any, rule: AutomationRule) -> bool:
    """The owner changes every rule; a manager only those reaching her own store."""
    if not getattr(user, "pk", None):
        return True  # the command line and the system's own jobs
    if user.role == Role.OWNER:
        return True
    return bool(
        user.role == Role.MANAGER
        and user.store_id is not None
        and rule.scope_role == Role.MANAGER
        and rule.scope_store_id == user.store_id
    )


def _check_may_change(user: Any, rule: AutomationRule) -> None:
    if rule.pk is not None and not may_change_rule(user, rule):
        raise PermissionDenied(
            _("This rule reaches beyond your store; ask the owner to change it.")
        )


def do_save_rule(rule: AutomationRule, *, actor: Any, request: Any = None) -> AutomationRule:
    """Create or change a rule after checking every part of it; audited.

    A new rule gets its author's reach (`AutomationRule.scope`), which stays with it.
    """
    _check_may_change(actor, rule)
    clean_rule(rule)
    created = rule.pk is None
    if created and getattr(actor, "pk", None):
        rule.created_by = actor
        rule.set_scope(actor)
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
                detail={
                    "trigger": rule.trigger,
                    "active": rule.is_active,
                    "reaches": rule.scope_role,
                    "store": rule.scope_store_id,
                },
            )
    except IntegrityError as exc:
        raise ValidationError({"name": _("Another rule already has this name.")}) from exc
    return rule


def do_set_rule_active(
    rule: AutomationRule, active: bool, *, actor: Any, request: Any = None
) -> AutomationRule:
    """Switch a rule on or off; scheduled enrolments of a rule switched off are skipped."""
    _check_may_change(actor, rule)
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
