"""The SOP engine: evaluate each active rule and create its tasks, once per occurrence.

Every trigger yields occurrences (customer, occurrence key, due time). The key names the event
(`order:42`, `created`, `first:2025-03-01`, `birthday:2025-05-20`, `entered:2025-05-01`,
`phase:7:ending:42`), and
the (rule, customer, key) unique constraint with `ignore_conflicts` inserts turns a second run,
or a second worker running at the same moment, into nothing.

Event triggers (order paid, customer created) only look at events of the last RECENT days:
older ones are history (imports, sales entered after the fact), not something to act on now.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from huitouke.accounts.models import Organisation, Role, User
from huitouke.accounts.scoping import ALL
from huitouke.core.occasions import next_birthday, solar_to_lunar
from huitouke.customers.models import CalendarKind, Customer, CustomerStats, Source
from huitouke.followups.defaults import ensure_default_rules
from huitouke.followups.models import (
    AssignTo,
    Event,
    FollowUpTask,
    SopMembership,
    SopRule,
    Trigger,
)
from huitouke.followups.scripts import render_script, script_contexts
from huitouke.sales.models import Order
from huitouke.sales.phases import purchases_entering
from huitouke.segments.compiler import SegmentError, segment_customers

logger = logging.getLogger(__name__)

BirthdayKind = Literal["solar", "lunar"]
RECENT = timedelta(days=3)
# A "N days after" rule still fires a few days late (a worker was down), never twice.
EVENT_GRACE_DAYS = 3
CHUNK = 500


@dataclass
class Occurrence:
    customer_id: int
    key: str
    due_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Clock:
    """`now` and the organisation's local calendar."""

    now: datetime
    tz: zoneinfo.ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz)

    def local_date(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()


def _plain(amount: Any) -> str:
    return f"{amount:.2f}".rstrip("0").rstrip(".")


# --- occurrences per trigger -----------------------------------------------------------------


def _orders(
    rule: SopRule, clock: Clock, order_ids: list[int] | None = None
) -> Iterator[Occurrence]:
    qs = (
        Order.objects.counted()
        .filter(
            organisation_id=rule.organisation_id,
            customer__isnull=False,
            customer__merged_into__isnull=True,
            placed_at__gte=clock.now - RECENT,
            placed_at__lte=clock.now,
        )
        .annotate(kept=F("net_paid") - F("refunded_amount"))
        .filter(kept__gte=rule.threshold)
    )
    if order_ids is not None:
        qs = qs.filter(pk__in=order_ids)
    delay = timedelta(hours=rule.delay_hours)
    for pk, customer_id, placed_at, kept in qs.order_by("pk").values_list(
        "pk", "customer_id", "placed_at", "kept"
    ):
        yield Occurrence(
            customer_id, f"order:{pk}", placed_at + delay, {"order_amount": _plain(kept)}
        )


def _created(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    qs = (
        Customer.objects.active()
        .filter(
            organisation_id=rule.organisation_id,
            created_at__gte=clock.now - RECENT,
            created_at__lte=clock.now,
        )
        # An import brings in existing relationships, not people who just walked in.
        .exclude(source=Source.IMPORT)
    )
    delay = timedelta(hours=rule.delay_hours)
    for pk, created_at in qs.order_by("pk").values_list("pk", "created_at"):
        yield Occurrence(pk, "created", created_at + delay)


def _first_order_window(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    start, end = rule.window_start_days or 0, rule.window_end_days or 0
    today = clock.today
    # Days since the first order d must satisfy start <= d < end.
    qs = CustomerStats.objects.filter(
        organisation_id=rule.organisation_id,
        customer__merged_into__isnull=True,
        first_order_at__gte=clock.day_start(today - timedelta(days=end - 1)),
        first_order_at__lt=clock.day_start(today - timedelta(days=start - 1)),
    )
    for customer_id, first in qs.order_by("customer_id").values_list(
        "customer_id", "first_order_at"
    ):
        if first is None:
            continue
        day = clock.local_date(first)
        due = clock.day_start(day + timedelta(days=end))
        yield Occurrence(customer_id, f"first:{day.isoformat()}", due)


def _birthdays(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    today = clock.today
    horizon = today + timedelta(days=rule.days or 0)
    # Narrow the candidates in SQL to the month/day pairs the window can celebrate; the exact
    # date (leap months, Feb 29, a lunar 30th in a 29-day month) is settled by next_birthday.
    wanted = Q(pk__in=[])
    for offset in range((horizon - today).days + 1):
        date_ = today + timedelta(days=offset)
        lunar = solar_to_lunar(date_)
        solar_days = [date_.day, 29] if (date_.month, date_.day) == (2, 28) else [date_.day]
        lunar_days = [lunar.day, 30] if lunar.day == 29 else [lunar.day]
        wanted |= Q(
            birthday_kind=CalendarKind.SOLAR, birth_month=date_.month, birth_day__in=solar_days
        )
        wanted |= Q(
            birthday_kind=CalendarKind.LUNAR, birth_month=lunar.month, birth_day__in=lunar_days
        )
    candidates = Customer.objects.active().filter(
        wanted,
        organisation_id=rule.organisation_id,
        stats__spend_12m__gte=rule.threshold or 0,
    )
    # Lunar conversions cost milliseconds each, and many customers share a birthday.
    celebrated: dict[tuple[str, int, int, bool], date | None] = {}
    for pk, kind, month, day, leap in candidates.order_by("pk").values_list(
        "pk", "birthday_kind", "birth_month", "birth_day", "birth_leap_month"
    ):
        if month is None or day is None:
            continue
        key = (kind, month, day, leap)
        if key not in celebrated:
            try:
                celebrated[key] = next_birthday(cast(BirthdayKind, kind), month, day, leap, today)
            except ValueError:
                celebrated[key] = None  # an impossible date typed in by hand (31 February)
        when = celebrated[key]
        if when is not None and when <= horizon:
            due = clock.day_start(when)
            if due < clock.now:
                due = clock.day_start(when + timedelta(days=1))
            yield Occurrence(pk, f"birthday:{when.isoformat()}", due)


def _event_days(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    n = rule.days or 0
    today = clock.today
    since = clock.day_start(today - timedelta(days=n + EVENT_GRACE_DAYS - 1))
    until = clock.day_start(today - timedelta(days=n - 1))
    rows: QuerySet[Any]
    if rule.event == Event.CREATED:
        rows = (
            Customer.objects.active()
            .filter(
                organisation_id=rule.organisation_id, created_at__gte=since, created_at__lt=until
            )
            .order_by("pk")
            .values_list("pk", "created_at")
        )
    else:
        column = "first_order_at" if rule.event == Event.FIRST_ORDER else "last_order_at"
        rows = (
            CustomerStats.objects.filter(
                organisation_id=rule.organisation_id,
                customer__merged_into__isnull=True,
                **{f"{column}__gte": since, f"{column}__lt": until},
            )
            .order_by("customer_id")
            .values_list("customer_id", column)
        )
    due = clock.now + timedelta(hours=rule.delay_hours)
    for customer_id, when in rows:
        yield Occurrence(customer_id, f"{rule.event}:{clock.local_date(when).isoformat()}+{n}", due)


def _members(rule: SopRule, clock: Clock) -> QuerySet[Customer] | None:
    base = Customer.objects.active().filter(organisation_id=rule.organisation_id)
    if rule.trigger == Trigger.RFM_SEGMENT_ENTERED:
        return base.filter(analytics__rfm_segment=rule.rfm_segment)
    if rule.segment is None:
        return None

    try:
        return segment_customers(
            # Only the owner makes SOP rules (followups.views): they reach the organisation.
            rule.segment.definition,
            rule.organisation,
            as_of=clock.today,
            scope=ALL,
        )
    except SegmentError as exc:
        logger.warning(
            "SOP rule %s: segment %s cannot be compiled: %s", rule.pk, rule.segment_id, exc
        )
        return None


def _entered(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    """Customers who entered the rule's segment since the last run (membership kept per rule)."""
    members = _members(rule, clock)
    if members is None:
        return
    SopMembership.objects.filter(rule=rule).exclude(customer_id__in=members.values("pk")).delete()
    known = SopMembership.objects.filter(rule=rule).values("customer_id")
    entrants = list(members.exclude(pk__in=known).order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(entrants), CHUNK):
        SopMembership.objects.bulk_create(
            [
                SopMembership(rule=rule, customer_id=pk, entered_at=clock.now)
                for pk in entrants[i : i + CHUNK]
            ],
            ignore_conflicts=True,
        )
    due = clock.now + timedelta(hours=rule.delay_hours)
    # Entering again on another day (after leaving) is another occurrence.
    key = f"entered:{clock.today.isoformat()}"
    for pk in entrants:
        yield Occurrence(pk, key, due)


def _phase_entered(rule: SopRule, clock: Clock) -> Iterator[Occurrence]:
    """Purchases of the rule's category entering its phase today (or in the grace days a
    stopped worker missed): one occurrence per purchase and phase, keyed by the order."""

    if rule.category_id is None or not rule.phase:
        return
    customers = Customer.objects.active().filter(organisation_id=rule.organisation_id)
    due = clock.now + timedelta(hours=rule.delay_hours)
    found: dict[int, int] = {}
    for back in range(EVENT_GRACE_DAYS - 1, -1, -1):
        day = clock.today - timedelta(days=back)
        found.update(
            purchases_entering(
                rule.organisation, rule.category_id, rule.phase, day, clock.tz, customers
            )
        )
    for customer_id, order_id in sorted(found.items()):
        yield Occurrence(customer_id, f"phase:{rule.category_id}:{rule.phase}:{order_id}", due)


OCCURRENCES = {
    Trigger.ORDER_PAID_OVER: _orders,
    Trigger.CUSTOMER_CREATED: _created,
    Trigger.DAYS_AFTER_FIRST_ORDER: _first_order_window,
    Trigger.VIP_BIRTHDAY: _birthdays,
    Trigger.RFM_SEGMENT_ENTERED: _entered,
    Trigger.SEGMENT_ENTERED: _entered,
    Trigger.DAYS_AFTER_EVENT: _event_days,
    Trigger.PHASE_ENTERED: _phase_entered,
}


# --- creating the tasks ---------------------------------------------------------------------------


class Assigner:
    """Who does a rule's task: the customer's owner, her store's manager or the boss, with fallbacks."""

    def __init__(self, organisation_id: int) -> None:
        staff = User.objects.filter(organisation_id=organisation_id, is_active=True).order_by("pk")
        self.managers: dict[int, User] = {}
        for user in staff.filter(role=Role.MANAGER):
            self.managers.setdefault(user.store_id or 0, user)
        self.boss = staff.filter(role=Role.OWNER).first()

    def __call__(self, rule: SopRule, customer: Customer) -> User | None:
        owner = customer.owner if customer.owner is not None and customer.owner.is_active else None
        manager = self.managers.get(customer.home_store_id or -1)
        if rule.assign_to == AssignTo.CUSTOMER_OWNER:
            return owner or manager or self.boss
        if rule.assign_to == AssignTo.STORE_MANAGER:
            return manager or self.boss
        return self.boss


def create_tasks(
    rule: SopRule, occurrences: Iterable[Occurrence], clock: Clock, assigner: Assigner
) -> int:
    """Insert the tasks of occurrences that have none yet; returns how many were new to this run."""
    created = 0
    pending = list(occurrences)
    for i in range(0, len(pending), CHUNK):
        chunk = pending[i : i + CHUNK]
        existing = set(
            FollowUpTask.objects.filter(
                rule=rule, customer_id__in={o.customer_id for o in chunk}
            ).values_list("customer_id", "occurrence_key")
        )
        todo = {(o.customer_id, o.key): o for o in chunk if (o.customer_id, o.key) not in existing}
        if not todo:
            continue
        customers = {
            c.pk: c
            for c in Customer.objects.filter(pk__in={cid for cid, _key in todo}).select_related(
                "stats", "home_store", "owner"
            )
        }
        contexts = script_contexts(customers.values(), as_of=clock.today)
        tasks = []
        for (customer_id, key), occ in sorted(todo.items()):
            customer = customers[customer_id]
            assignee = assigner(rule, customer)
            context = {**contexts[customer_id], "staff": str(assignee) if assignee else ""}
            context.update(occ.extra)
            tasks.append(
                FollowUpTask(
                    organisation_id=rule.organisation_id,
                    customer_id=customer_id,
                    assignee=assignee,
                    kind=rule.kind,
                    title=rule.name[:100],
                    due_at=occ.due_at,
                    script=render_script(rule.script_template, context),
                    rule=rule,
                    occurrence_key=key,
                    created_at=clock.now,
                )
            )
        # The unique constraint decides between concurrent runs: a row another worker inserted
        # meanwhile is silently skipped.
        FollowUpTask.objects.bulk_create(tasks, ignore_conflicts=True)
        created += len(tasks)
    return created


def _clock(organisation: Organisation, now: datetime | None) -> Clock:
    return Clock(now=now or timezone.now(), tz=zoneinfo.ZoneInfo(organisation.time_zone))


def run_rule(
    rule: SopRule, *, now: datetime | None = None, assigner: Assigner | None = None
) -> int:
    """Evaluate one rule; its memberships and tasks are written in one transaction."""
    clock = _clock(rule.organisation, now)
    assigner = assigner or Assigner(rule.organisation_id)
    with transaction.atomic():
        return create_tasks(rule, OCCURRENCES[Trigger(rule.trigger)](rule, clock), clock, assigner)


def run_sops(organisation: Organisation, *, now: datetime | None = None) -> int:
    """Evaluate every active rule of the organisation (creating the built-ins on first run)."""
    ensure_default_rules(organisation)
    assigner = Assigner(organisation.pk)
    total = 0
    rules = SopRule.objects.filter(organisation=organisation, is_active=True).select_related(
        "organisation", "segment"
    )
    for rule in rules:
        total += run_rule(rule, now=now, assigner=assigner)
    return total


def run_order_sops(order: Order, *, now: datetime | None = None) -> int:
    """Evaluate the order-paid rules for one order (enqueued when the order commits)."""
    if order.customer_id is None:
        return 0
    organisation = order.organisation
    ensure_default_rules(organisation)
    clock = _clock(organisation, now)
    assigner = Assigner(organisation.pk)
    total = 0
    for rule in SopRule.objects.filter(
        organisation=organisation, is_active=True, trigger=Trigger.ORDER_PAID_OVER
    ).select_related("organisation"):
        with transaction.atomic():
            total += create_tasks(rule, _orders(rule, clock, [order.pk]), clock, assigner)
    return total


def run_all(*, now: datetime | None = None) -> int:
    """Run every organisation's rules; one organisation's failure does not stop the others."""
    total = 0
    for organisation in Organisation.objects.order_by("pk"):
        try:
            total += run_sops(organisation, now=now)
        except Exception:
            # Broad on purpose: the nightly run serves every organisation, and one's failure (a
            # rule whose segment no longer compiles, a bug) must not leave the others without
            # their tasks. Each rule runs in its own transaction, so nothing half-done stays;
            # the log has the traceback, and the next run tries again.
            logger.exception("SOP run failed for organisation %s", organisation.pk)
    return total
