"""Follow-ups' part of other apps' events: connected in FollowupsConfig.ready().

Open tasks follow their customers on every owner change and on merge (inside those transactions); a paid
order enqueues its SOPs once the sale has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import User
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.models import Customer
from huitouke.followups.models import FollowUpTask, SopMembership, TaskStatus
from huitouke.sales.models import Order


def on_owners_changed(
    sender: Any,
    *,
    moves: Sequence[tuple[int, int | None]],
    new_owner: User | None,
    **kwargs: Any,
) -> int:
    """customers.events.owners_changed: her open tasks (the old owner's, or nobody's) go to the new owner.

    Their scripts were rendered with the old owner's name as the signature ("我是…的小美"); the
    moved tasks say the new owner's name instead. Returns how many tasks moved.
    """
    if new_owner is None:
        return 0  # nobody to take them: the tasks stay with whoever has them
    by_old: dict[int | None, list[int]] = {}
    for customer_id, old in moves:
        by_old.setdefault(old, []).append(customer_id)
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[o for o in by_old if o])}
    new_name = str(new_owner)
    moved: list[FollowUpTask] = []
    for old, ids in by_old.items():
        whose = Q(assignee_id=old) | Q(assignee__isnull=True) if old else Q(assignee__isnull=True)
        tasks = FollowUpTask.objects.filter(
            whose, customer_id__in=ids, status=TaskStatus.OPEN
        ).select_for_update()
        old_name = names.get(old or 0, "")
        for task in tasks:
            task.assignee = new_owner
            if old_name and old_name != new_name:
                task.script = task.script.replace(old_name, new_name)
            moved.append(task)
    FollowUpTask.objects.bulk_update(moved, ["assignee", "script"], batch_size=500)
    return len(moved)


def on_handover_previewed(
    sender: Any, *, customer_ids: Sequence[int], from_staff: User, **kwargs: Any
) -> int:
    """customers.events.handover_previewed: how many open tasks the handover would move."""
    return FollowUpTask.objects.filter(
        Q(assignee=from_staff) | Q(assignee__isnull=True),
        customer_id__in=customer_ids,
        status=TaskStatus.OPEN,
    ).count()


def on_customers_merged(sender: Any, *, keep: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customers_merged: the duplicate's tasks move to the kept customer; a task she already has is skipped."""
    taken = set(
        FollowUpTask.objects.filter(customer=keep, rule__isnull=False).values_list(
            "rule_id", "occurrence_key"
        )
    )
    move: list[int] = []
    clash: list[int] = []
    for pk, rule_id, key in FollowUpTask.objects.filter(customer=duplicate).values_list(
        "pk", "rule_id", "occurrence_key"
    ):
        (clash if rule_id is not None and (rule_id, key) in taken else move).append(pk)
    FollowUpTask.objects.filter(pk__in=clash, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED,
        skip_reason=_("Merged: the kept customer has the same task."),
        completed_at=timezone.now(),
    )
    if keep.owner_id and duplicate.owner_id and keep.owner_id != duplicate.owner_id:
        FollowUpTask.objects.filter(
            pk__in=move, status=TaskStatus.OPEN, assignee_id=duplicate.owner_id
        ).update(assignee_id=keep.owner_id)
    FollowUpTask.objects.filter(pk__in=move).update(customer=keep)
    # Segment membership is recomputed for the kept customer on the next engine run.
    SopMembership.objects.filter(customer=duplicate).delete()


def on_order_paid(sender: Any, *, order: Order, **kwargs: Any) -> None:
    """sales.events.order_paid: enqueue the order's SOPs once the sale has committed."""
    if order.customer_id is None:
        return
    enqueue_on_commit("huitouke.followups.tasks.run_order_sop_rules", order.pk)
