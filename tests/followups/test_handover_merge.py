"""Open tasks follow their customers on handover and merge; closed ones keep their history."""

from __future__ import annotations

from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.ownership import do_hand_over_customers
from huitouke.followups import actions
from huitouke.followups.defaults import CARE, ensure_default_rules
from huitouke.followups.models import FollowUpTask, SopRule, TaskStatus
from tests.followups.conftest import make_task
from tests.helpers import make_customer


def test_open_tasks_follow_customers_to_their_new_owner(org, owner, staff_a, staff_b, staff_c):
    mine = [make_customer(org, name=f"客{i}", owner=staff_a) for i in range(4)]
    open_tasks = [make_task(c, staff_a) for c in mine]
    closed = make_task(mine[0], staff_a)
    actions.do_complete_task(closed, actor=staff_a, outcome="ok")
    someone_elses = make_task(mine[1], staff_c)  # assigned by hand to a colleague: stays
    do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b, staff_c], actor=owner)
    for task in open_tasks:
        task.refresh_from_db()
        task.customer.refresh_from_db()
        assert task.assignee_id == task.customer.owner_id != staff_a.pk
    closed.refresh_from_db()
    someone_elses.refresh_from_db()
    assert closed.assignee == staff_a and someone_elses.assignee == staff_c
    assert not FollowUpTask.objects.filter(assignee=staff_a, status=TaskStatus.OPEN).exists()


def test_merge_moves_tasks_and_skips_a_duplicate_occurrence(org, owner, staff_a, staff_b):
    ensure_default_rules(org)
    care = SopRule.objects.get(organisation=org, code=CARE)
    keep = make_customer(org, name="陈静", owner=staff_a)
    dup = make_customer(org, name="陈静 (重复)", owner=staff_b)
    same = make_task(keep, staff_a, rule=care, occurrence_key="first:2025-01-01")
    clash = make_task(dup, staff_b, rule=care, occurrence_key="first:2025-01-01")
    moved = make_task(dup, staff_b, rule=care, occurrence_key="first:2025-02-01")
    manual = make_task(dup, staff_b)
    do_merge_customers(keep=keep, duplicate=dup, actor=owner)
    for t in (same, clash, moved, manual):
        t.refresh_from_db()
    assert (moved.customer, moved.assignee) == (keep, staff_a)
    assert (manual.customer, manual.assignee) == (keep, staff_a)
    assert clash.customer == dup and clash.status == TaskStatus.SKIPPED
    assert same.status == TaskStatus.OPEN
