"""Reads for the task screens, the dashboard and the API: inbox, team view, staff results."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.http import Http404
from django.utils import timezone

from huitouke.accounts.models import Role, User
from huitouke.accounts.scoping import can_see_full_phone, customer_q, staff_q, task_q
from huitouke.analytics.models import CustomerAnalytics, Lifecycle
from huitouke.customers.models import Customer
from huitouke.customers.phones import mask_phone, national
from huitouke.followups.models import FollowUpTask, TaskQuerySet, TaskStatus
from huitouke.sales.models import Order

LIST_LIMIT = 100


def _org_id(user: User) -> int:
    # Callers are signed-in staff; an account outside any organisation sees nothing (id 0).
    return user.organisation_id or 0


def _tz(user: Any) -> zoneinfo.ZoneInfo:
    organisation = getattr(user, "organisation", None)
    return zoneinfo.ZoneInfo(organisation.time_zone if organisation else "Asia/Shanghai")


def day_bounds(user: Any, day: date) -> tuple[datetime, datetime]:
    """The first instant of a local day in the user's organisation, and of the day after."""
    tz = _tz(user)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def local_today(user: Any, now: datetime | None = None) -> date:
    """Today in the user's organisation's time zone."""
    return (now or timezone.now()).astimezone(_tz(user)).date()


def get_task_for(user: Any, pk: int) -> FollowUpTask:
    """The task `pk` if `user` may see it, else 404 (never 403: no existence leak)."""
    try:
        return (
            FollowUpTask.objects.visible_to(user)
            .select_related("customer", "customer__stats", "assignee", "rule")
            .get(pk=pk)
        )
    except FollowUpTask.DoesNotExist as exc:
        raise Http404 from exc


def task_phone(user: Any, task: FollowUpTask) -> tuple[str, str]:
    """(number for a tel: link, shown text): the assignee and the customer's staff get it in full."""
    phone = task.customer.phone or ""
    if not phone:
        return "", ""
    if task.assignee_id == user.pk or can_see_full_phone(user, task.customer):
        return phone, national(phone)
    return "", mask_phone(phone)


def _with_customer(qs: TaskQuerySet) -> TaskQuerySet:
    return qs.select_related("customer", "customer__stats", "assignee")


INBOX_TABS = ("today", "overdue", "upcoming", "done")
INBOX_PAGE = 20


def inbox_tabs(user: User, *, kind: str = "", now: datetime | None = None) -> dict[str, Any]:
    """The user's own tasks split into the inbox tabs, each newest-relevant first.

    - overdue: open, due before now;
    - today: open, due from now until the end of the local day;
    - upcoming: open, due after today;
    - done: closed (done or skipped), the latest closed first.

    `kind` narrows every tab to one task kind. Returns the querysets, their counts (one query)
    and the count of each kind in each tab (one query).
    """
    now = now or timezone.now()
    _start, end = day_bounds(user, local_today(user, now))
    mine = FollowUpTask.objects.filter(assignee=user, organisation_id=_org_id(user))
    filters = {
        "overdue": Q(status=TaskStatus.OPEN, due_at__lt=now),
        "today": Q(status=TaskStatus.OPEN, due_at__gte=now, due_at__lt=end),
        "upcoming": Q(status=TaskStatus.OPEN, due_at__gte=end),
        "done": ~Q(status=TaskStatus.OPEN),
    }
    order = {
        "overdue": ("due_at", "id"),
        "today": ("due_at", "id"),
        "upcoming": ("due_at", "id"),
        "done": ("-completed_at", "-id"),
    }
    scoped = mine.filter(kind=kind) if kind else mine
    counts = scoped.aggregate(**{tab: Count("id", filter=q) for tab, q in filters.items()})
    by_kind: dict[str, dict[str, int]] = {tab: {} for tab in filters}
    rows = (
        mine.order_by()
        .values("kind")
        .annotate(**{tab: Count("id", filter=q) for tab, q in filters.items()})
    )
    for row in rows:
        values: dict[str, Any] = dict(row)
        for tab in filters:
            if values[tab]:
                by_kind[tab][values["kind"]] = values[tab]
    return {
        "querysets": {
            tab: _with_customer(scoped.filter(q)).order_by(*order[tab])
            for tab, q in filters.items()
        },
        "counts": counts,
        "by_kind": by_kind,
    }


def dashboard_tasks(user: User, *, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard reminder: my overdue and today's tasks, and my team's overdue count."""
    now = now or timezone.now()
    _start, end = day_bounds(user, local_today(user, now))
    mine = FollowUpTask.objects.filter(
        assignee=user, organisation_id=_org_id(user), status=TaskStatus.OPEN
    )
    counts = mine.aggregate(
        overdue=Count("id", filter=Q(due_at__lt=now)),
        today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end)),
    )
    team_overdue = None
    if user.role in (Role.OWNER, Role.MANAGER):
        team_overdue = FollowUpTask.objects.visible_to(user).open().filter(due_at__lt=now).count()
    return {
        "overdue_count": counts["overdue"],
        "today_count": counts["today"],
        "tasks": list(_with_customer(mine.filter(due_at__lt=end)).order_by("due_at", "id")[:5]),
        "team_overdue": team_overdue,
        "now": now,
    }


@dataclass
class TeamRow:
    assignee: User | None
    open: int
    overdue: int
    today: int


def team(user: User, *, now: datetime | None = None) -> dict[str, Any]:
    """Open, overdue and due-today counts per person over the tasks the manager or owner sees."""
    now = now or timezone.now()
    _start, end = day_bounds(user, local_today(user, now))
    visible = FollowUpTask.objects.visible_to(user).open()
    rows = (
        visible.order_by()
        .values("assignee_id")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_at__lt=now)),
            today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end)),
        )
    )
    people = {u.pk: u for u in User.objects.filter(organisation_id=_org_id(user))}
    table = [
        TeamRow(
            people.get(r["assignee_id"]) if r["assignee_id"] else None,
            r["n"],
            r["overdue"],
            r["today"],
        )
        for r in rows
    ]
    table.sort(key=lambda r: (-r.overdue, -r.open, str(r.assignee or "")))
    overdue = list(
        _with_customer(visible.filter(due_at__lt=now)).order_by("due_at", "id")[:LIST_LIMIT]
    )
    return {"rows": table, "overdue": overdue}


# --- staff results ------------------------------------------------------------------------------


@dataclass
class StaffResult:
    """One staff owner's numbers for a period (see staff_results for the definitions)."""

    staff: User
    customers: int = 0
    revenue: Decimal = Decimal("0.00")
    buyers: int = 0
    repeat_buyers: int = 0
    lifecycle: dict[str, int] = field(default_factory=dict)
    tasks_due: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0
    skipped: int = 0
    delay_hours_total: float = 0.0

    @property
    def repurchase_rate(self) -> float | None:
        return self.repeat_buyers / self.buyers if self.buyers else None

    @property
    def done(self) -> int:
        return self.done_on_time + self.done_late

    @property
    def on_time_rate(self) -> float | None:
        return self.done_on_time / self.tasks_due if self.tasks_due else None

    @property
    def avg_delay_hours(self) -> float | None:
        return self.delay_hours_total / self.done if self.done else None

    def share(self, stage: str) -> float | None:
        """Share of her customers in a lifecycle stage (from the latest analytics run)."""
        return self.lifecycle.get(stage, 0) / self.customers if self.customers else None

    @property
    def active(self) -> int:
        return self.lifecycle.get(Lifecycle.ACTIVE, 0)

    @property
    def silent(self) -> int:
        return self.lifecycle.get(Lifecycle.SILENT, 0)

    @property
    def churned(self) -> int:
        return self.lifecycle.get(Lifecycle.CHURNED, 0)


SORT_KEYS = {
    "name": lambda r: str(r.staff),
    "customers": lambda r: r.customers,
    "revenue": lambda r: r.revenue,
    "repurchase": lambda r: r.repurchase_rate or 0,
    "active": lambda r: r.active,
    "silent": lambda r: r.silent,
    "churned": lambda r: r.churned,
    "on_time": lambda r: r.done_on_time,
    "overdue": lambda r: r.overdue,
    "delay": lambda r: r.avg_delay_hours or 0,
}


def staff_results(
    user: User, start: date, end: date, *, now: datetime | None = None
) -> list[StaffResult]:
    """Per staff member the user may see, for the local days start..end (both included).

    - customers: the (unmerged) customers she owns now; lifecycle mix from CustomerAnalytics;
    - revenue: net paid less refunds of paid orders placed in the period by her customers
      (the current owner gets the credit, as in the KPIs by owner);
    - repurchase rate: share of those buyers with two or more such orders;
    - tasks: assigned to her and due in the period: done on time (closed by the due time),
      done late, still open past due (overdue), skipped; average delay of the done ones in
      hours, on-time ones counting as 0.

    Customers, their orders and lifecycles count only those the user may see (`customer_q`: a
    manager's staff may own customers of another store), tasks only those she may see (`task_q`).
    """
    now = now or timezone.now()
    since, _ = day_bounds(user, start)
    _, until = day_bounds(user, end)
    staff = list(User.objects.filter(staff_q(user), is_active=True).order_by("pk"))
    results = {u.pk: StaffResult(staff=u) for u in staff}
    ids = list(results)
    customers = Customer.objects.active().filter(
        customer_q(user), organisation_id=_org_id(user), owner_id__in=ids
    )
    for owner_id, n in (
        customers.order_by().values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n")
    ):
        results[owner_id].customers = n
    orders = (
        Order.objects.counted()
        .filter(
            customer_q(user, "customer__"),
            organisation_id=_org_id(user),
            customer__owner_id__in=ids,
            customer__merged_into__isnull=True,
            placed_at__gte=since,
            placed_at__lt=until,
        )
        .order_by()
        .values("customer__owner_id", "customer_id")
        .annotate(n=Count("id"), revenue=Sum(F("net_paid") - F("refunded_amount")))
        .values_list("customer__owner_id", "n", "revenue")
    )
    for owner_id, n, revenue in orders:
        result = results[owner_id]
        result.revenue += revenue or 0
        result.buyers += 1
        result.repeat_buyers += n >= 2
    lifecycle = (
        CustomerAnalytics.objects.filter(customer__in=customers)
        .order_by()
        .values("customer__owner_id", "lifecycle")
        .annotate(n=Count("pk"))
        .values_list("customer__owner_id", "lifecycle", "n")
    )
    for owner_id, stage, n in lifecycle:
        results[owner_id].lifecycle[stage] = n
    tasks = FollowUpTask.objects.filter(
        task_q(user),
        organisation_id=_org_id(user),
        assignee_id__in=ids,
        due_at__gte=since,
        due_at__lt=until,
    ).values_list("assignee_id", "status", "due_at", "completed_at")
    for assignee_id, status, due_at, completed_at in tasks:
        result = results[assignee_id]
        result.tasks_due += 1
        if status == TaskStatus.DONE and completed_at is not None:
            late = max(timedelta(0), completed_at - due_at)
            result.delay_hours_total += late.total_seconds() / 3600
            if late:
                result.done_late += 1
            else:
                result.done_on_time += 1
        elif status == TaskStatus.SKIPPED:
            result.skipped += 1
        elif due_at < now:
            result.overdue += 1
    return list(results.values())
