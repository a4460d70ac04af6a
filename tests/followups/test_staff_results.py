"""Staff results checked against a plain re-computation from the raw rows, plus hand-worked figures."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from huitouke.analytics.models import CustomerAnalytics
from huitouke.customers.models import Customer
from huitouke.followups import actions
from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.followups.queries import staff_results
from huitouke.sales.actions import do_refund_order
from huitouke.sales.models import Order, OrderStatus
from tests.followups.conftest import make_task
from tests.helpers import make_customer, make_order

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def reference(viewer, start, end, now):
    """The definitions of staff_results, computed with loops over every row in the database."""
    since = datetime.combine(start, time.min, tzinfo=TZ)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=TZ)
    out: dict[int, dict] = defaultdict(
        lambda: {
            "customers": 0,
            "revenue": Decimal(0),
            "orders": defaultdict(int),
            "life": defaultdict(int),
            "due": 0,
            "on_time": 0,
            "late": 0,
            "overdue": 0,
            "skipped": 0,
            "delays": [],
        }
    )
    owners = {}

    def sees(c):  # the owner sees her organisation; a manager her store's and her own customers
        if viewer.role == "owner":
            return True
        return c.home_store_id == viewer.store_id or c.owner_id == viewer.pk

    for c in Customer.objects.all():
        if (
            c.organisation_id == viewer.organisation_id
            and c.merged_into_id is None
            and c.owner_id
            and sees(c)
        ):
            owners[c.pk] = c.owner_id
            out[c.owner_id]["customers"] += 1
    for o in Order.objects.all():
        if (
            o.customer_id in owners
            and o.status == OrderStatus.PAID
            and since <= o.placed_at < until
        ):
            row = out[owners[o.customer_id]]
            row["revenue"] += o.net_paid - o.refunded_amount
            row["orders"][o.customer_id] += 1
    for a in CustomerAnalytics.objects.all():
        if a.customer_id in owners:
            out[owners[a.customer_id]]["life"][a.lifecycle] += 1
    for t in FollowUpTask.objects.all():
        if t.organisation_id != viewer.organisation_id or t.assignee_id is None:
            continue
        if not since <= t.due_at < until:
            continue
        row = out[t.assignee_id]
        row["due"] += 1
        if t.status == TaskStatus.DONE:
            late = (t.completed_at - t.due_at).total_seconds() / 3600
            row["late" if late > 0 else "on_time"] += 1
            row["delays"].append(max(late, 0.0))
        elif t.status == TaskStatus.SKIPPED:
            row["skipped"] += 1
        elif t.due_at < now:
            row["overdue"] += 1
    return out


@pytest.fixture
def data(org, other_org, store1, other_store, owner, manager, staff_a, staff_b):
    now = timezone.now()
    today = now.astimezone(TZ).date()
    start, end = today - timedelta(days=29), today
    # a1 and b1 live in the manager's store; a2, a3 have no home store: hers to see only if
    # she owned them, so the manager's figures leave them out.
    a1 = make_customer(org, name="甲一", owner=staff_a, home_store=store1)
    a2 = make_customer(org, name="甲二", owner=staff_a)
    a3 = make_customer(org, name="甲三", owner=staff_a)
    b1 = make_customer(org, name="乙一", owner=staff_b, home_store=store1)
    m1 = make_customer(org, name="店长客", owner=manager)
    stranger = make_customer(other_org, name="外人")
    day = lambda n: now - timedelta(days=n)  # noqa: E731
    make_order(a1, store1, unit_price="100", placed_at=day(3))
    make_order(a1, store1, unit_price="200", placed_at=day(10))
    make_order(a1, store1, unit_price="500", placed_at=day(40))  # before the period
    refunded = make_order(a2, store1, unit_price="300", placed_at=day(5))
    do_refund_order(order=refunded, actor=owner, amount=Decimal("50"))
    gone = make_order(a2, store1, unit_price="80", placed_at=day(6))
    do_refund_order(order=gone, actor=owner)  # fully refunded: counts as none
    for n in (1, 2, 3):
        make_order(b1, store1, unit_price="70", placed_at=day(n))
    make_order(m1, store1, unit_price="999", placed_at=day(2))
    make_order(stranger, other_store, unit_price="5000", placed_at=day(2))
    for customer, stage in ((a1, "active"), (a2, "silent"), (a3, "potential"), (b1, "churned")):
        CustomerAnalytics.objects.create(
            customer=customer, organisation=org, as_of=today, lifecycle=stage
        )
    on_time = make_task(a1, staff_a, due_at=day(4))
    actions.do_complete_task(on_time, actor=staff_a, now=day(4) - timedelta(hours=1))
    late = make_task(a2, staff_a, due_at=day(4))
    actions.do_complete_task(late, actor=staff_a, now=day(4) + timedelta(hours=3))
    make_task(a3, staff_a, due_at=day(1))  # still open: overdue
    skipped = make_task(a3, staff_a, due_at=day(2))
    actions.do_skip_task(skipped, actor=staff_a, reason="出差")
    make_task(a3, staff_a, due_at=day(60))  # due before the period
    late_b = make_task(b1, staff_b, due_at=day(8))
    actions.do_complete_task(late_b, actor=staff_b, now=day(7))
    return {"now": now, "start": start, "end": end}


@pytest.mark.parametrize("viewer", ["owner", "manager"])
def test_results_match_a_plain_recomputation(request, data, viewer):
    user = request.getfixturevalue(viewer)
    got = {r.staff.pk: r for r in staff_results(user, data["start"], data["end"], now=data["now"])}
    ref = reference(user, data["start"], data["end"], data["now"])
    assert got
    for pk, r in got.items():
        e = ref[pk]
        buyers = len(e["orders"])
        repeat = sum(1 for n in e["orders"].values() if n >= 2)
        assert r.customers == e["customers"]
        assert r.revenue == e["revenue"]
        assert (r.buyers, r.repeat_buyers) == (buyers, repeat)
        assert r.repurchase_rate == (repeat / buyers if buyers else None)
        assert dict(r.lifecycle) == dict(e["life"])
        assert (r.tasks_due, r.done_on_time, r.done_late, r.overdue, r.skipped) == (
            e["due"],
            e["on_time"],
            e["late"],
            e["overdue"],
            e["skipped"],
        )
        expected_delay = sum(e["delays"]) / len(e["delays"]) if e["delays"] else None
        assert r.avg_delay_hours == pytest.approx(expected_delay)


def test_hand_worked_figures_for_staff_a(owner, staff_a, staff_b, data):
    rows = {r.staff: r for r in staff_results(owner, data["start"], data["end"], now=data["now"])}
    a = rows[staff_a]
    # 100 + 200 (甲一) + 300 − 50 (甲二); the fully refunded 80 counts as nothing.
    assert a.revenue == Decimal("550.00")
    assert (a.buyers, a.repeat_buyers) == (2, 1) and a.repurchase_rate == 0.5
    assert (a.customers, a.active, a.silent, a.churned) == (3, 1, 1, 0)
    assert (a.tasks_due, a.done_on_time, a.done_late, a.overdue, a.skipped) == (4, 1, 1, 1, 1)
    assert a.avg_delay_hours == pytest.approx(1.5)  # (0 + 3) / 2
    b = rows[staff_b]
    assert (b.revenue, b.repurchase_rate, b.churned) == (Decimal("210.00"), 1.0, 1)


def test_staff_see_only_colleagues_in_scope(manager, staff_a, staff_c, data):
    # The manager of store 1 sees store 1's people only; staff see nothing here (views refuse).
    names = {r.staff for r in staff_results(manager, data["start"], data["end"])}
    assert staff_a in names and staff_c not in names
