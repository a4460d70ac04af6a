"""Who looks after a customer: handing a leaving staff member's customers over, changing one
customer's owner (with the reason kept), and the customers nobody owns. Each change writes an
ownership row and its audit entry in one transaction and sends customers.events."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huitouke.accounts.models import Organisation, User
from huitouke.audit.actions import record_audit
from huitouke.customers import events
from huitouke.customers.changes import customers_changed
from huitouke.customers.models import (
    Customer,
    OwnershipChange,
)


def do_hand_over_customers(
    *,
    from_staff: User,
    to_staff: Sequence[User],
    actor: Any,
    request: Any = None,
    customer_ids: Sequence[int] | None = None,
) -> int:
    """Move a staff member's customers to one colleague, or spread them evenly over several."""
    if not to_staff:
        raise ValidationError({"to_staff": _("Choose who takes over the customers.")})
    if any(s.pk == from_staff.pk for s in to_staff):
        raise ValidationError(
            {"to_staff": _("A staff member cannot hand customers over to herself.")}
        )
    if any(s.organisation_id != from_staff.organisation_id for s in to_staff):
        raise ValidationError({"to_staff": _("This staff member belongs to another organisation.")})
    with transaction.atomic():
        qs = Customer.objects.active().filter(owner=from_staff)
        if customer_ids is not None:
            qs = qs.filter(pk__in=customer_ids)
        # Locked: a concurrent handover of the same customers waits, then finds them moved.
        ids = list(qs.select_for_update().order_by("pk").values_list("pk", flat=True))
        assignments: dict[int, list[int]] = {s.pk: [] for s in to_staff}
        for cid, staff in zip(ids, itertools.cycle(to_staff), strict=False):
            assignments[staff.pk].append(cid)
        by_pk = Customer.objects.in_bulk(ids)
        for staff in to_staff:
            do_change_owner(
                [by_pk[c] for c in assignments[staff.pk]],
                staff,
                actor=actor,
                reason=OwnerChangeReason.HANDOVER,
                request=request,
            )
        # WeChat follows go with the customers (wecom); open tasks moved in do_change_owner.
        events.customers_handed_over.send(
            sender=Customer, customer_ids=ids, from_staff=from_staff, assignments=assignments
        )
        customers_changed(from_staff.organisation_id, updated=ids)
        record_audit(
            actor=actor,
            organisation=from_staff.organisation,
            action="handover",
            target=from_staff,
            request=request,
            detail={"customers": len(ids), "to": {str(k): len(v) for k, v in assignments.items()}},
        )
    return len(ids)


def handover_preview(from_staff: User, to_staff: Sequence[User]) -> dict[str, Any]:
    """What a handover would move: her customers and their open tasks, and who gets how many."""
    ids = list(
        Customer.objects.active()
        .filter(owner=from_staff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    answers = events.handover_previewed.send(
        sender=Customer, customer_ids=ids, from_staff=from_staff
    )
    tasks = sum(int(count or 0) for _receiver, count in answers)
    per_staff = {s.pk: 0 for s in to_staff}
    for _cid, staff in zip(ids, itertools.cycle(to_staff), strict=False):
        per_staff[staff.pk] += 1
    return {
        "customers": len(ids),
        "tasks": tasks,
        "per_staff": [(s, per_staff[s.pk]) for s in to_staff],
    }


class OwnerChangeReason:
    MANUAL = "manual"
    HANDOVER = "handover"
    MERGE = "merge"


def owner_change_reason_label(reason: str) -> str:
    labels = {
        OwnerChangeReason.MANUAL: pgettext("owner change", "Edited on her profile"),
        OwnerChangeReason.HANDOVER: pgettext("owner change", "Handover"),
        OwnerChangeReason.MERGE: pgettext("owner change", "Merge of duplicates"),
        "api": pgettext("owner change", "Edited through the API"),
        "wecom_refused": pgettext("owner change", "WeCom transfer refused"),
    }
    return labels.get(reason, reason and pgettext("owner change", "Other"))


def do_change_owner(
    customers: Customer | Sequence[Customer],
    new_owner: User | None,
    *,
    actor: Any,
    reason: str,
    request: Any = None,
) -> int:
    """Give customers a new 负责人: the one way every ownership change is made.

    In one transaction: the owner is set, an ownership-history row per customer and one audit
    entry are written, and her open follow-up tasks move to the new owner with their scripts'
    signature re-rendered (events.owners_changed). Customers she already owns are left alone.
    Returns how many customers changed owner.
    """
    batch = [customers] if isinstance(customers, Customer) else list(customers)
    if not batch:
        return 0
    org_id = batch[0].organisation_id
    if any(c.organisation_id != org_id for c in batch) or (
        new_owner is not None and new_owner.organisation_id != org_id
    ):
        raise ValidationError({"owner": _("This belongs to another organisation.")})
    new_id = new_owner.pk if new_owner is not None else None
    with transaction.atomic():
        current = dict(
            Customer.objects.select_for_update()
            .filter(pk__in=[c.pk for c in batch])
            .order_by("pk")
            .values_list("pk", "owner_id")
        )
        moves = [(cid, old) for cid, old in current.items() if old != new_id]
        for c in batch:
            c.owner = new_owner
        if not moves:
            return 0
        moved_ids = [cid for cid, _old in moves]
        Customer.objects.filter(pk__in=moved_ids).update(owner_id=new_id, updated_at=timezone.now())
        changed_by = actor if getattr(actor, "pk", None) else None
        OwnershipChange.objects.bulk_create(
            OwnershipChange(
                customer_id=cid,
                from_owner_id=old,
                to_owner_id=new_id,
                changed_by=changed_by,
                reason=reason,
            )
            for cid, old in moves
        )
        # Her open tasks follow, their signature re-rendered (followups' receiver counts them).
        answers = events.owners_changed.send(sender=Customer, moves=moves, new_owner=new_owner)
        tasks = sum(int(count or 0) for _receiver, count in answers)
        previous: dict[str, int] = {}
        for _cid, old in moves:
            previous[str(old or "")] = previous.get(str(old or ""), 0) + 1
        target = batch[0] if len(batch) == 1 else new_owner
        record_audit(
            actor=actor,
            organisation=batch[0].organisation,
            action="owner_change",
            target=target,
            request=request,
            detail={
                "reason": reason,
                "customers": len(moves),
                "customer_ids": moved_ids[:200],
                "from": previous,
                "to": new_id,
                "tasks_moved": tasks,
            },
        )
    return len(moves)


def unowned_customers(organisation: Organisation) -> Any:
    """Customers nobody looks after (户户有人管): listed for the owner to assign."""
    return (
        Customer.objects.active()
        .filter(organisation=organisation)
        .filter(Q(owner__isnull=True) | Q(owner__is_active=False))
    )
