"""Every write to follow-up tasks and SOP rules (the receivers that keep tasks with their customers are in hooks.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, User
from huitouke.analytics.models import RfmSegment
from huitouke.audit.actions import record_audit
from huitouke.customers.actions import do_add_interaction
from huitouke.customers.models import Customer, InteractionKind
from huitouke.followups import events
from huitouke.followups.models import (
    AssignTo,
    Event,
    FollowUpTask,
    SopMembership,
    SopRule,
    TaskKind,
    TaskStatus,
    Trigger,
)
from huitouke.followups.scripts import check_script, render_for
from huitouke.sales.phases import Phase

# The timeline entry a completed task becomes; gifts, cards and others are notes.
INTERACTION_KINDS = {
    TaskKind.CALL: InteractionKind.CALL,
    TaskKind.WECHAT: InteractionKind.WECHAT,
    TaskKind.VISIT: InteractionKind.VISIT,
}
MAX_DAYS = 3650
MAX_DELAY_HOURS = 24 * 90


def _check_assignee(organisation_id: int, assignee: User | None) -> None:
    if assignee is None:
        return
    if assignee.organisation_id != organisation_id or not assignee.is_active:
        raise ValidationError(
            {"assignee": _("Choose an active staff member of your organisation.")}
        )


def do_create_task(
    *,
    customer: Customer,
    kind: str,
    due_at: datetime,
    actor: Any,
    assignee: User | None = None,
    title: str = "",
    script: str = "",
    script_template: str = "",
) -> FollowUpTask:
    """Create a task by hand; it goes to the customer's owner (else the actor) unless someone is named.

    `script` is stored as given (already rendered); a `script_template` is rendered with the
    customer's data instead.
    """
    if kind not in TaskKind.values:
        raise ValidationError({"kind": _("Choose the kind of task.")})
    if assignee is None:
        owner = customer.owner
        assignee = owner if owner is not None and owner.is_active else None
        if assignee is None and getattr(actor, "pk", None):
            assignee = actor
    _check_assignee(customer.organisation_id, assignee)
    if script_template:
        check_script(script_template)
        script = render_for(script_template, customer, staff=str(assignee) if assignee else "")
    if len(script) > 5000:
        raise ValidationError({"script": _("Keep the script under 5000 characters.")})
    return FollowUpTask.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        assignee=assignee,
        kind=kind,
        title=(title.strip() or str(TaskKind(kind).label))[:100],
        due_at=due_at,
        script=script,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def do_complete_task(
    task: FollowUpTask, *, actor: Any, outcome: str = "", now: datetime | None = None
) -> FollowUpTask:
    """Mark an open task done and write the contact on the customer's timeline, in one transaction."""
    outcome = (outcome or "").strip()
    if len(outcome) > 2000:
        raise ValidationError({"outcome": _("Keep the outcome under 2000 characters.")})
    now = now or timezone.now()
    with transaction.atomic():
        # The status filter claims the task: a double tap or a colleague closing it at the same
        # moment updates nothing the second time, and writes no second interaction.
        claimed = FollowUpTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
            status=TaskStatus.DONE,
            outcome=outcome,
            completed_at=now,
            completed_by=actor if getattr(actor, "pk", None) else None,
        )
        if not claimed:
            raise ValidationError(_("This task is already closed."), code="closed")
        kind = INTERACTION_KINDS.get(TaskKind(task.kind), InteractionKind.NOTE)
        note = f"{task.title}：{outcome}" if outcome else task.title
        interaction = do_add_interaction(
            task.customer, actor=actor, kind=kind, note=note, occurred_at=now
        )
        FollowUpTask.objects.filter(pk=task.pk).update(interaction=interaction)
        task.refresh_from_db()
        events.task_completed.send(sender=FollowUpTask, task=task)
    return task


def do_skip_task(
    task: FollowUpTask, *, actor: Any, reason: str, now: datetime | None = None
) -> FollowUpTask:
    """Close an open task without doing it; the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the task is skipped.")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("Keep the reason under 200 characters.")})
    claimed = FollowUpTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED,
        skip_reason=reason,
        completed_at=now or timezone.now(),
        completed_by=actor if getattr(actor, "pk", None) else None,
    )
    if not claimed:
        raise ValidationError(_("This task is already closed."), code="closed")
    task.refresh_from_db()
    return task


def do_reassign_task(task: FollowUpTask, *, assignee: User, actor: Any) -> FollowUpTask:
    """Give an open task to another staff member."""
    _check_assignee(task.organisation_id, assignee)
    if not FollowUpTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        assignee=assignee
    ):
        raise ValidationError(_("This task is already closed."), code="closed")
    task.refresh_from_db()
    return task


# --- SOP rules ------------------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "trigger",
    "threshold",
    "days",
    "window_start_days",
    "window_end_days",
    "event",
    "rfm_segment",
    "segment",
    "category",
    "phase",
    "delay_hours",
    "kind",
    "script_template",
    "assign_to",
    "is_active",
)


def validate_rule(rule: SopRule) -> None:
    """Raise ValidationError naming each field the rule's trigger needs but lacks."""
    errors: dict[str, str] = {}
    required = _("This trigger needs a value here.")
    t = rule.trigger
    if t not in Trigger.values:
        errors["trigger"] = _("Choose a trigger.")
    if not (rule.name or "").strip():
        errors["name"] = _("The name is required.")
    if t == Trigger.ORDER_PAID_OVER and (rule.threshold is None or rule.threshold <= 0):
        errors["threshold"] = _("Enter the order amount, above zero.")
    if t == Trigger.VIP_BIRTHDAY and (rule.threshold is None or rule.threshold < 0):
        errors["threshold"] = _("Enter the 12-month spend that makes a VIP.")
    if t in (Trigger.VIP_BIRTHDAY, Trigger.DAYS_AFTER_EVENT):
        if rule.days is None:
            errors["days"] = required
        elif rule.days > (60 if t == Trigger.VIP_BIRTHDAY else MAX_DAYS):
            errors["days"] = _("That is too many days.")
    if t == Trigger.DAYS_AFTER_FIRST_ORDER:
        start, end = rule.window_start_days, rule.window_end_days
        if start is None:
            errors["window_start_days"] = required
        if end is None:
            errors["window_end_days"] = required
        elif start is not None and not start < end <= MAX_DAYS:
            errors["window_end_days"] = _("The window must end after it starts.")
    if t == Trigger.DAYS_AFTER_EVENT and rule.event not in Event.values:
        errors["event"] = required
    if t == Trigger.RFM_SEGMENT_ENTERED and rule.rfm_segment not in RfmSegment.values:
        errors["rfm_segment"] = required
    if t == Trigger.SEGMENT_ENTERED:
        if rule.segment_id is None:
            errors["segment"] = required
        elif rule.segment is not None and rule.segment.organisation_id != rule.organisation_id:
            errors["segment"] = _("This belongs to another organisation.")
    if t == Trigger.PHASE_ENTERED:
        if rule.category_id is None:
            errors["category"] = required
        elif rule.category is not None and rule.category.organisation_id != rule.organisation_id:
            errors["category"] = _("This belongs to another organisation.")
        if rule.phase not in Phase.values:
            errors["phase"] = required
    if rule.kind not in TaskKind.values:
        errors["kind"] = _("Choose the kind of task.")
    if rule.assign_to not in AssignTo.values:
        errors["assign_to"] = _("Choose who does the task.")
    if rule.delay_hours > MAX_DELAY_HOURS:
        errors["delay_hours"] = _("That is too long.")
    if rule.threshold is not None and rule.threshold > Decimal("9999999999"):
        errors["threshold"] = _("The amount is too large.")
    try:
        check_script(rule.script_template or "")
    except ValidationError as exc:
        errors["script_template"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)


def do_create_sop_rule(
    *, organisation: Organisation, actor: Any, request: Any = None, **fields: Any
) -> SopRule:
    """Create an owner-defined rule (segment entered, N days after an event, …); audited."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    rule = SopRule(organisation=organisation, **fields)
    validate_rule(rule)
    with transaction.atomic():
        rule.save()
        record_audit(
            actor=actor,
            organisation=organisation,
            action="sop_rule_create",
            target=rule,
            request=request,
            detail={"trigger": rule.trigger},
        )
    return rule


def do_update_sop_rule(rule: SopRule, *, actor: Any, request: Any = None, **fields: Any) -> SopRule:
    """Change a rule's settings (a built-in rule keeps its trigger); audited."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    if rule.is_built_in and fields.get("trigger", rule.trigger) != rule.trigger:
        raise ValidationError({"trigger": _("A built-in rule keeps its trigger.")})
    changed = {k: v for k, v in fields.items() if getattr(rule, k) != v}
    for key, value in changed.items():
        setattr(rule, key, value)
    validate_rule(rule)
    with transaction.atomic():
        rule.save()
        if set(changed) & {"trigger", "rfm_segment", "segment"}:
            # A different population: everyone in it now counts as entering it.
            SopMembership.objects.filter(rule=rule).delete()
        record_audit(
            actor=actor,
            organisation=rule.organisation,
            action="sop_rule_update",
            target=rule,
            request=request,
            detail={"changed": sorted(changed)},
        )
    return rule


def do_delete_sop_rule(rule: SopRule, *, actor: Any, request: Any = None) -> None:
    """Delete an owner-defined rule (its tasks stay); built-in rules can only be switched off."""
    if rule.is_built_in:
        raise ValidationError(_("A built-in rule cannot be deleted; switch it off instead."))
    with transaction.atomic():
        record_audit(
            actor=actor,
            organisation=rule.organisation,
            action="sop_rule_delete",
            target=rule,
            request=request,
            detail={"name": rule.name},
        )
        rule.delete()
