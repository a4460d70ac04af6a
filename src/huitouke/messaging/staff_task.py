"""The staff-task channel: a follow-up task carrying the rendered script for a person to send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from huitouke.accounts.models import Role, User
from huitouke.customers.models import Customer
from huitouke.followups.actions import do_create_task
from huitouke.followups.models import TaskKind

ASSIGN_CHOICES = ("customer_owner", "store_manager", "org_owner")


def assignee_for(customer: Customer, assign_to: str = "customer_owner") -> User | None:
    """Who does it: her owner, her store's manager or the boss, falling back along that line."""
    order = (
        list(ASSIGN_CHOICES[ASSIGN_CHOICES.index(assign_to) :])
        if assign_to in ASSIGN_CHOICES
        else list(ASSIGN_CHOICES)
    )
    staff = User.objects.filter(organisation_id=customer.organisation_id, is_active=True)
    for choice in order:
        found: User | None = None
        if choice == "customer_owner" and customer.owner_id:
            found = staff.filter(pk=customer.owner_id).first()
        elif choice == "store_manager" and customer.home_store_id:
            found = staff.filter(role=Role.MANAGER, store_id=customer.home_store_id).first()
        elif choice == "org_owner":
            found = staff.filter(role=Role.OWNER).order_by("id").first()
        if found is not None:
            return found
    return None


def create_staff_task(
    customer: Customer,
    *,
    title: str,
    script: str,
    due_at: datetime,
    kind: str = "call",
    assign_to: str = "customer_owner",
    actor: Any = None,
) -> int:
    """Create one follow-up task for the customer; returns its id (call inside a transaction)."""
    task = do_create_task(
        customer=customer,
        kind=kind if kind in TaskKind.values else TaskKind.OTHER,
        due_at=due_at,
        actor=actor,
        assignee=assignee_for(customer, assign_to),
        title=title[:100],
        script=script,
    )
    return int(task.pk)
