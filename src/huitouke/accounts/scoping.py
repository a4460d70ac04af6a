"""The one place that decides what a staff member may see (分户: 人人要管户, 户户有人管).

- owner: every customer of her organisation;
- manager: customers whose home store is her store, plus customers she owns herself;
- staff: the customers she owns.

Orders are visible when their customer is; a manager also sees every order placed in her store
(walk-in sales included). Follow-up tasks are visible to their assignee, to the manager of the
store they belong to and to the owner (`task_q`). Every view, API endpoint, search and export
filters through these, usually via `Customer.objects.visible_to(user)`,
`Order.objects.visible_to(user)` and `FollowUpTask.objects.visible_to(user)`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from huitouke.accounts.models import Role

NOTHING = Q(pk__in=[])


def customer_q(user: Any, path: str = "") -> Q:
    """Filter for the customers `user` may see; `path` prefixes the lookups (e.g. "customer__")."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return NOTHING
    in_org = Q(**{f"{path}organisation_id": user.organisation_id})
    if user.role == Role.OWNER:
        return in_org
    if user.role == Role.MANAGER:
        return in_org & (
            Q(**{f"{path}home_store_id": user.store_id}) | Q(**{f"{path}owner_id": user.pk})
        )
    return in_org & Q(**{f"{path}owner_id": user.pk})


def order_q(user: Any) -> Q:
    """Filter for the orders `user` may see."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return NOTHING
    q = Q(customer__isnull=False) & customer_q(user, "customer__")
    if user.role == Role.OWNER:
        return Q(organisation_id=user.organisation_id)
    if user.role == Role.MANAGER:
        return Q(organisation_id=user.organisation_id) & (q | Q(store_id=user.store_id))
    return Q(organisation_id=user.organisation_id) & (q | Q(staff_id=user.pk))


def staff_q(user: Any) -> Q:
    """Filter for the staff accounts `user` may see (for owner pickers, handover, results)."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return NOTHING
    in_org = Q(organisation_id=user.organisation_id)
    if user.role == Role.OWNER:
        return in_org
    if user.role == Role.MANAGER:
        return in_org & Q(store_id=user.store_id)
    return Q(pk=user.pk)


def task_q(user: Any) -> Q:
    """Filter for the follow-up tasks `user` may see.

    Staff see the tasks assigned to them; a manager also sees every task of her store (its
    customers' or its staff's); the owner sees all of the organisation's.
    """
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return NOTHING
    in_org = Q(organisation_id=user.organisation_id)
    if user.role == Role.OWNER:
        return in_org
    if user.role == Role.MANAGER:
        return in_org & (
            Q(assignee_id=user.pk)
            | Q(customer__home_store_id=user.store_id)
            | Q(assignee__store_id=user.store_id)
        )
    return in_org & Q(assignee_id=user.pk)


def can_see_full_phone(user: Any, customer: Any) -> bool:
    """The organisation's owner and the customer's own staff member see the full number."""
    return bool(user.role == Role.OWNER or customer.owner_id == user.pk)


def can_reveal_phone(user: Any, customer: Any) -> bool:
    """A manager may reveal a masked number of a customer in her scope; the reveal is audited."""
    return can_see_full_phone(user, customer) or user.role == Role.MANAGER
