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

from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Q

from huitouke.accounts.models import Role

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Scope:
    """Whose customers something may reach, kept apart from the person (stored on a rule).

    It quacks like a user for `customer_q`: an organisation, a role, a store and the person's id
    (None once the author's account is gone: then a manager's scope is her store alone).
    """

    organisation_id: int | None
    role: str
    store_id: int | None = None
    pk: int | None = None
    is_authenticated: bool = True

    @classmethod
    def of(cls, user: Any) -> Scope:
        if not getattr(user, "is_authenticated", False):
            return cls(None, Role.STAFF)
        return cls(user.organisation_id, user.role, user.store_id, user.pk)


class _All:
    """No person's limits: the command line and organisation-wide jobs say so explicitly."""

    def __repr__(self) -> str:
        return "ALL"


ALL: Final = _All()


def customer_q(user: Any, path: str = "") -> Q:
    """Filter for the customers `user` (or a `Scope`) may see; `path` prefixes the lookups."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return NOTHING
    in_org = Q(**{f"{path}organisation_id": user.organisation_id})
    if user.role == Role.OWNER:
        return in_org
    own = Q(**{f"{path}owner_id": user.pk}) if user.pk is not None else NOTHING
    if user.role == Role.MANAGER:
        if user.store_id is None:
            return in_org & own
        return in_org & (Q(**{f"{path}home_store_id": user.store_id}) | own)
    return in_org & own


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
