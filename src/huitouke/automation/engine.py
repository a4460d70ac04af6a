"""The automation engine: enrol customers when triggers fire, then act on each enrolment once.

Exactly once, on SQLite and PostgreSQL, with any number of workers:
- an enrolment is unique per (rule, customer, occurrence key) and inserted ignoring conflicts;
- event triggers insert their enrolments inside the event's own transaction (the order, the
  new customer), so an event that commits has its enrolments and one that rolls back has none;
- the daily pass claims (rule, local day) by inserting a RuleRun in the same transaction as the
  day's enrolments: a second pass that day (or a second worker) finds the row and does nothing,
  and a pass that crashes leaves neither, so the next tick redoes the day;
- acting on an enrolment is one transaction that first flips it scheduled -> done with a
  conditional UPDATE and then writes every effect (coupon, points, tags, task, outbox rows).
  Losing the UPDATE means another worker has it; a crash rolls everything back to scheduled.
Messages leave through the outbox after commit, never from inside these transactions.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from huitouke.accounts.models import Organisation, Role
from huitouke.accounts.scoping import customer_q
from huitouke.analytics.models import CustomerAnalytics
from huitouke.automation.holdout import in_holdout
from huitouke.automation.models import (
    EVENT_TRIGGERS,
    AutomationRule,
    Enrolment,
    EnrolmentReason,
    EnrolmentStatus,
    RuleRun,
    SegmentState,
    StateSync,
    Trigger,
)
from huitouke.automation.triggers import Occurrence, campaign_send_at, daily_occurrences
from huitouke.core.locks import lock_customer
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.actions import set_tags
from huitouke.customers.models import Customer, CustomerStats
from huitouke.loyalty.actions import do_adjust_points
from huitouke.loyalty.coupons import do_issue_coupon
from huitouke.loyalty.models import CouponTemplate
from huitouke.messaging.actions import (
    FALLBACK_REASONS,
    enqueue_message,
    suppression_reason,
)
from huitouke.messaging.models import MessageTemplate
from huitouke.messaging.rendering import customer_variables, render
from huitouke.messaging.staff_task import create_staff_task
from huitouke.segments.compiler import SegmentError, compile_segment

logger = logging.getLogger(__name__)

BATCH = 2000
# A scheduler that was down catches up at most this many missed days (late beats never).
CATCH_UP_DAYS = 3
# Orders older than this are history (imports), not events to react to.
EVENT_MAX_AGE = timedelta(days=1)
# Actions run in this order, so a message can quote the coupon issued with it.
_ACTION_ORDER = {
    "issue_coupon": 0,
    "award_points": 1,
    "add_tag": 2,
    "remove_tag": 2,
    "create_task": 3,
    "send_message": 4,
}


def org_today(organisation: Organisation, now: datetime) -> date:
    """The organisation's local date at `now`."""
    return now.astimezone(ZoneInfo(organisation.time_zone)).date()


def in_dates(rule: AutomationRule, day: date) -> bool:
    """Whether local day `day` lies within the rule's active dates."""
    return (rule.active_from is None or rule.active_from <= day) and (
        rule.active_until is None or day <= rule.active_until
    )


def rule_customers(rule: AutomationRule, as_of: date) -> QuerySet[Customer]:
    """The customers within the rule's reach meeting its conditions (segment and inline filter)."""
    customers = Customer.objects.active().filter(customer_q(rule.scope))
    saved = rule.segment.definition if rule.segment is not None else None
    for definition in (saved, rule.conditions):
        if definition and definition.get("conditions"):
            customers = customers.filter(
                compile_segment(definition, rule.organisation, as_of, scope=rule.scope)
            )
    return customers


def enrol(
    rule: AutomationRule, occurrences: Iterable[Occurrence], *, now: datetime | None = None
) -> int:
    """Insert an enrolment per occurrence, ignoring those already there; returns how many were offered.

    The occurrences lie within the rule's reach: the daily pass takes them from `rule_customers`,
    the events from `_enrol_event`.
    """
    now = now or timezone.now()
    delay = timedelta(minutes=rule.delay_minutes)
    batch: list[Enrolment] = []
    offered = 0
    for occurrence in occurrences:
        batch.append(
            Enrolment(
                organisation_id=rule.organisation_id,
                rule_id=rule.pk,
                customer_id=occurrence.customer_id,
                occurrence_key=occurrence.key[:80],
                due_at=occurrence.at + delay,
                event_order_id=occurrence.order_id,
                created_at=now,
            )
        )
        if len(batch) >= BATCH:
            Enrolment.objects.bulk_create(batch, ignore_conflicts=True)
            offered += len(batch)
            batch = []
    if batch:
        Enrolment.objects.bulk_create(batch, ignore_conflicts=True)
        offered += len(batch)
    return offered


def _enrol_event(rule: AutomationRule, occurrence: Occurrence, now: datetime) -> int:
    """Enrol one customer after an event, unless she is beyond the rule's reach.

    A manager's rule never enrols another store's customer, so she is neither acted on nor
    listed on the rule's page.
    """
    if rule.scope_role != Role.OWNER and not (
        Customer.objects.filter(customer_q(rule.scope), pk=occurrence.customer_id).exists()
    ):
        return 0
    return enrol(rule, [occurrence], now=now)


# --- event triggers (called inside the event's transaction) ---------------------------------------


def _event_rules(organisation_id: int, trigger: str) -> list[AutomationRule]:
    return list(
        AutomationRule.objects.active().filter(organisation_id=organisation_id, trigger=trigger)
    )


def _kick_after_commit() -> None:
    # Zero-delay rules should not wait for the next minute's tick (which catches up anyway).
    enqueue_on_commit("huitouke.automation.tasks.run_automation_now")


def on_customer_created(customer: Customer) -> None:
    """Enrol a new customer in the organisation's "customer created" rules."""
    now = timezone.now()
    offered = 0
    for rule in _event_rules(customer.organisation_id, Trigger.CUSTOMER_CREATED):
        offered += _enrol_event(rule, Occurrence(customer.pk, "created", now), now)
    if offered:
        _kick_after_commit()


def on_customer_joined(customer: Customer) -> None:
    """Enrol a customer who joined as a member (members app) in the "customer joined" rules."""
    now = timezone.now()
    offered = 0
    for rule in _event_rules(customer.organisation_id, Trigger.CUSTOMER_JOINED):
        offered += _enrol_event(rule, Occurrence(customer.pk, "joined", now), now)
    if offered:
        _kick_after_commit()


def on_order_paid(order: Any) -> None:
    """Enrol the buyer in "order paid" rules (not for imported history older than a day)."""
    now = timezone.now()
    if order.customer_id is None or order.placed_at < now - EVENT_MAX_AGE:
        return
    offered = 0
    for rule in _event_rules(order.organisation_id, Trigger.ORDER_PAID):
        minimum = rule.params.get("min_amount")
        if minimum is not None and order.net_paid < Decimal(str(minimum)):
            continue
        if rule.params.get("first_order_only"):
            # Stats were refreshed with this order before the hooks ran.
            count = (
                CustomerStats.objects.filter(pk=order.customer_id)
                .values_list("orders_count", flat=True)
                .first()
            )
            if (count or 0) > 1:
                continue
        offered += _enrol_event(
            rule, Occurrence(order.customer_id, f"order:{order.pk}", now, order.pk), now
        )
    if offered:
        _kick_after_commit()


def on_order_refunded(order: Any, refund: Any) -> None:
    """Enrol the buyer in "order refunded" rules (after-sale care)."""
    if order.customer_id is None:
        return
    now = timezone.now()
    offered = 0
    for rule in _event_rules(order.organisation_id, Trigger.ORDER_REFUNDED):
        offered += _enrol_event(
            rule, Occurrence(order.customer_id, f"refund:{refund.pk}", now, order.pk), now
        )
    if offered:
        _kick_after_commit()


def on_tier_changed(change: Any) -> None:
    """Enrol the member in "tier changed" rules matching the direction of the change."""
    organisation_id = Customer.objects.values_list("organisation_id", flat=True).get(
        pk=change.customer_id
    )
    before = change.from_tier.threshold if change.from_tier else Decimal("0")
    after = change.to_tier.threshold if change.to_tier else Decimal("0")
    now = timezone.now()
    offered = 0
    for rule in _event_rules(organisation_id, Trigger.TIER_CHANGED):
        direction = rule.params.get("direction", "up")
        if (direction == "up" and after <= before) or (direction == "down" and after >= before):
            continue
        offered += _enrol_event(rule, Occurrence(change.customer_id, f"tier:{change.pk}", now), now)
    if offered:
        _kick_after_commit()


# --- the daily pass --------------------------------------------------------------------------------


def days_to_evaluate(rule: AutomationRule, today: date, last: date | None) -> list[date]:
    """Local days the rule still has to be evaluated for: today, plus a few missed ones.

    Missed days are caught up (late beats never) but never from before the rule was last
    switched on: a rule that was off stays silent about the days it was off.
    """
    if rule.trigger == Trigger.MANUAL:
        return []
    first = (
        today
        if last is None
        else max(last + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
    )
    if rule.activated_at is not None:
        first = max(first, org_today(rule.organisation, rule.activated_at))
    days = []
    day = first
    while day <= today:
        if in_dates(rule, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def evaluate_rule_day(
    rule: AutomationRule, day: date, *, now: datetime | None = None
) -> int | None:
    """Enrol the rule's customers for local day `day` once; None when that day was already done."""
    now = now or timezone.now()
    tz = ZoneInfo(rule.organisation.time_zone)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = RuleRun.objects.create(rule=rule, day=day, created_at=now)
        except IntegrityError:
            return None  # another pass (or worker) did this day
        try:
            customers = rule_customers(rule, day)
            if rule.trigger == Trigger.MANUAL:
                at = campaign_send_at(rule)
                occurrences: Iterable[Occurrence] = (
                    Occurrence(pk, "campaign", at)
                    for pk in customers.values_list("pk", flat=True)
                    .order_by()
                    .iterator(chunk_size=BATCH)
                )
            else:
                occurrences = daily_occurrences(rule, day, tz, customers)
            offered = enrol(rule, occurrences, now=now)
        except SegmentError:
            # A segment edited into something invalid: record the day, log, enrol nobody.
            logger.error("rule %s: its conditions no longer compile", rule.pk)
            offered = 0
        RuleRun.objects.filter(pk=run.pk).update(enrolled=offered)
    return offered


def sync_segment_states(organisation: Organisation, day: date) -> int | None:
    """Record lifecycle / RFM changes since the last sync (once per local day); None if done."""

    if StateSync.objects.filter(organisation=organisation, day=day).exists():
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                sync = StateSync.objects.create(organisation=organisation, day=day)
        except IntegrityError:
            return None
        first_sync = not SegmentState.objects.filter(organisation=organisation).exists()
        analytics = CustomerAnalytics.objects.filter(organisation=organisation)
        state = SegmentState.objects.filter(customer_id=OuterRef("customer_id"))
        rows = analytics.annotate(
            old_lifecycle=Subquery(state.values("lifecycle")[:1]),
            old_rfm=Subquery(state.values("rfm_segment")[:1]),
            known=Subquery(state.values("customer_id")[:1]),
        )
        # Customers seen for the first time: from nothing, today (no change on the very first sync).
        since = None if first_sync else day
        new_states = [
            SegmentState(
                customer_id=customer_id,
                organisation=organisation,
                lifecycle=lifecycle,
                rfm_segment=rfm or "",
                lifecycle_since=since,
                rfm_segment_since=since if rfm else None,
            )
            for customer_id, lifecycle, rfm in rows.filter(known__isnull=True)
            .values_list("customer_id", "lifecycle", "rfm_segment")
            .iterator(chunk_size=BATCH)
        ]
        SegmentState.objects.bulk_create(new_states, batch_size=BATCH, ignore_conflicts=True)
        changed = rows.filter(known__isnull=False).filter(
            ~Q(lifecycle=F("old_lifecycle")) | ~Q(rfm_segment=F("old_rfm"))
        )
        count = 0
        for customer_id, lifecycle, rfm, old_lifecycle, old_rfm in changed.values_list(
            "customer_id", "lifecycle", "rfm_segment", "old_lifecycle", "old_rfm"
        ).iterator(chunk_size=BATCH):
            fields: dict[str, Any] = {}
            if lifecycle != old_lifecycle:
                fields.update(
                    lifecycle=lifecycle, lifecycle_from=old_lifecycle, lifecycle_since=day
                )
            if (rfm or "") != (old_rfm or ""):
                fields.update(
                    rfm_segment=rfm or "", rfm_segment_from=old_rfm or "", rfm_segment_since=day
                )
            count += SegmentState.objects.filter(pk=customer_id).update(**fields)
        StateSync.objects.filter(pk=sync.pk).update(changed=count + len(new_states))
    return count + len(new_states)


def run_daily(*, now: datetime | None = None) -> int:
    """Evaluate every active time-triggered rule for each local day not yet done; returns enrolments offered."""
    now = now or timezone.now()
    rules = list(
        AutomationRule.objects.active()
        .exclude(trigger__in=EVENT_TRIGGERS)
        .select_related("organisation", "segment")
    )
    if not rules:
        return 0
    last_days = dict(
        RuleRun.objects.filter(rule__in=rules)
        .values("rule_id")
        .annotate(last=Max("day"))
        .values_list("rule_id", "last")
    )
    offered = 0
    synced: set[int] = set()
    for rule in rules:
        today = org_today(rule.organisation, now)
        if rule.trigger == Trigger.MANUAL:
            send_at = campaign_send_at(rule)
            if send_at <= now and rule.pk not in last_days and in_dates(rule, today):
                offered += (
                    evaluate_rule_day(rule, org_today(rule.organisation, send_at), now=now) or 0
                )
            continue
        days = days_to_evaluate(rule, today, last_days.get(rule.pk))
        if rule.trigger == Trigger.SEGMENT_CHANGED and days and rule.organisation_id not in synced:
            sync_segment_states(rule.organisation, today)
            synced.add(rule.organisation_id)
        for day in days:
            offered += evaluate_rule_day(rule, day, now=now) or 0
    return offered


# --- acting on enrolments -----------------------------------------------------------------------


def process_due(
    *, now: datetime | None = None, limit: int = 500, budget_seconds: float | None = None
) -> Counter[str]:
    """Act on the enrolments that are due; returns how many ended in each status.

    One batch of `limit`, or, with a time budget, batch after batch until none is left, the
    budget is spent or a batch changes nothing (every enrolment in it waits for a retry).
    """
    now = now or timezone.now()
    started = time.monotonic()
    outcomes: Counter[str] = Counter()
    while True:
        due = list(
            Enrolment.objects.filter(status=EnrolmentStatus.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        batch: Counter[str] = Counter(process_enrolment(pk, now=now) for pk in due)
        outcomes.update(batch)
        if (
            budget_seconds is None
            or len(due) < limit
            or batch["retry"] == len(due)
            or time.monotonic() - started > budget_seconds
        ):
            return outcomes


def process_enrolment(pk: int, *, now: datetime | None = None) -> str:
    """Act on one enrolment exactly once; returns its final status ("claimed" if another worker had it)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            claimed = Enrolment.objects.filter(
                pk=pk, status=EnrolmentStatus.SCHEDULED, due_at__lte=now
            ).update(status=EnrolmentStatus.DONE, acted_at=now)
            if not claimed:
                return "claimed"
            enrolment = Enrolment.objects.select_related(
                "rule", "rule__organisation", "rule__segment", "customer"
            ).get(pk=pk)
            status, reason, detail = _act(enrolment, now)
            Enrolment.objects.filter(pk=pk).update(
                status=status, reason=reason, detail=detail, coupon_id=detail.get("coupon_id")
            )
    except DatabaseError:
        # Locked or disconnected: nothing was written, the next tick tries again.
        logger.warning("enrolment %s: database error, will retry", pk, exc_info=True)
        return "retry"
    except Exception as error:
        logger.exception("enrolment %s failed", pk)
        Enrolment.objects.filter(pk=pk, status=EnrolmentStatus.SCHEDULED).update(
            status=EnrolmentStatus.FAILED,
            reason=EnrolmentReason.ERROR,
            detail={"error": str(error)[:300]},
            acted_at=now,
        )
        return EnrolmentStatus.FAILED
    return status


def _act(enrolment: Enrolment, now: datetime) -> tuple[str, str, dict[str, Any]]:
    rule = enrolment.rule
    customer = Customer.objects.select_related("organisation", "home_store").get(
        pk=enrolment.customer_id
    )
    today = org_today(rule.organisation, now)
    if not rule.is_active or not in_dates(rule, today):
        return EnrolmentStatus.SKIPPED, EnrolmentReason.RULE_OFF, {}
    if customer.merged_into_id is not None:
        return EnrolmentStatus.SKIPPED, EnrolmentReason.MERGED, {}
    # One customer's decisions (the cap above all) are taken one at a time.
    lock_customer(customer.pk)
    try:
        matches = rule_customers(rule, today).filter(pk=customer.pk).exists()
    except SegmentError:
        matches = False
    if not matches:
        return EnrolmentStatus.SKIPPED, EnrolmentReason.CONDITIONS, {}
    sends = [a for a in rule.actions if a["type"] == "send_message"]
    if sends:
        reasons = [_send_blocked(rule, customer, action, now) for action in sends]
        if all(reasons):
            # Nobody to reach: record the suppressed messages (the owner sees why), do nothing else.
            variables = customer_variables(customer)
            for index, action in enumerate(rule.actions):
                if action["type"] == "send_message":
                    _send(rule, enrolment, customer, action, index, variables, now)
            return EnrolmentStatus.SUPPRESSED, str(reasons[0]), {}
    if rule.holdout_share and in_holdout(rule.pk, customer.pk, rule.holdout_share):
        return EnrolmentStatus.HOLDOUT, "", {}
    return EnrolmentStatus.DONE, "", _perform(rule, enrolment, customer, now)


def _send_blocked(
    rule: AutomationRule, customer: Customer, action: dict[str, Any], now: datetime
) -> str | None:
    """Why this send action can reach her on neither its channel nor its fallback, or None."""
    reason = suppression_reason(
        customer,
        action["channel"],
        is_marketing=rule.is_marketing,
        cap_exempt=rule.cap_exempt,
        now=now,
    )
    if reason in FALLBACK_REASONS and action.get("fallback_channel"):
        fallback = suppression_reason(
            customer,
            action["fallback_channel"],
            is_marketing=rule.is_marketing,
            cap_exempt=rule.cap_exempt,
            now=now,
        )
        return fallback and reason
    return reason


def _perform(
    rule: AutomationRule, enrolment: Enrolment, customer: Customer, now: datetime
) -> dict[str, Any]:

    detail: dict[str, Any] = {}
    extra: dict[str, str] = {}
    ordered = sorted(
        enumerate(rule.actions), key=lambda pair: _ACTION_ORDER.get(pair[1]["type"], 9)
    )
    variables: dict[str, str] | None = None
    for index, action in ordered:
        kind = action["type"]
        try:
            if kind == "issue_coupon":
                template = CouponTemplate.objects.get(
                    pk=action["coupon_template"], organisation_id=rule.organisation_id
                )
                coupon = do_issue_coupon(template, customer, actor=None, now=now)
                detail["coupon_id"] = coupon.pk
                extra = {"coupon_code": coupon.code, "coupon_value": template.describe()}
            elif kind == "award_points":
                do_adjust_points(
                    customer, points=action["points"], reason=f"{rule.name}"[:200], actor=None
                )
                detail["points"] = action["points"]
            elif kind in ("add_tag", "remove_tag"):
                names = set(customer.tags.values_list("name", flat=True))
                names = names | {action["tag"]} if kind == "add_tag" else names - {action["tag"]}
                set_tags(customer, sorted(names))
            elif kind == "create_task":
                variables = variables or customer_variables(customer, **extra)
                task_id = create_staff_task(
                    customer,
                    title=action.get("title") or rule.name,
                    script=render(action.get("script", ""), variables),
                    due_at=now + timedelta(hours=int(action.get("due_hours", 24))),
                    kind=action.get("kind", "call"),
                    assign_to=action.get("assign_to", "customer_owner"),
                )
                detail.setdefault("task_ids", []).append(task_id)
            elif kind == "send_message":
                variables = variables or customer_variables(customer, **extra)
                message = _send(rule, enrolment, customer, action, index, variables, now)
                if message is not None:
                    detail.setdefault("message_ids", []).append(message.pk)
        except (ValidationError, CouponTemplate.DoesNotExist) as error:
            # One action refused (coupon quota reached, template gone): the others still run.
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            detail.setdefault("errors", []).append(f"{kind}: {text}"[:300])
    return detail


def _send(
    rule: AutomationRule,
    enrolment: Enrolment,
    customer: Customer,
    action: dict[str, Any],
    index: int,
    variables: dict[str, str],
    now: datetime,
) -> Any:
    templates = MessageTemplate.objects.filter(organisation_id=rule.organisation_id)
    template = templates.filter(pk=action["template"]).first()
    if template is None:
        raise ValidationError("the message template was deleted")
    fallback = (
        templates.filter(pk=int(action["fallback_template"])).first()
        if action.get("fallback_template")
        else None
    )
    return enqueue_message(
        customer=customer,
        channel=action["channel"],
        template=template,
        idempotency_key=f"enrolment:{enrolment.pk}:{index}",
        is_marketing=rule.is_marketing,
        cap_exempt=rule.cap_exempt,
        quiet=rule.quiet_hours,
        rule=rule,
        enrolment=enrolment,
        variables=variables,
        fallback_channel=action.get("fallback_channel") or "",
        fallback_template=fallback,
        now=now,
    )


def run_scheduler(
    *, now: datetime | None = None, budget_seconds: float | None = None
) -> dict[str, Any]:
    """One tick: the daily pass (a no-op once today is done) and the due enrolments."""
    now = now or timezone.now()
    offered = run_daily(now=now)
    outcomes = process_due(now=now, budget_seconds=budget_seconds)
    return {"offered": offered, **outcomes}
