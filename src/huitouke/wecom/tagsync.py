"""Tags both ways: a corp tag set or removed in Huitouke is marked in WeCom (mark_tag).

Customers' tags change through customers.actions.set_tags (m2m_changed) or in bulk (an import),
which sends customers.events.customers_changed instead: `reconcile_tags` then marks whatever corp
tag a changed customer has that her follow in WeCom lacks. The sync's own bulk inserts send
neither, so a sync never echoes back. Only tags named like a WeCom corp tag travel, on the follow
relation of the customer's owner (else the member who added her first).

Both read what they need for a whole list of customers in a fixed number of queries (customers
and their contacts, active follows, connections, owners' members; tags and corp tags for the
reconcile) and write the follows' new tags back in one bulk update; only the mark_tag calls, which
WeCom takes one external contact at a time, grow with the customers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from huitouke.customers.models import Customer
from huitouke.wecom.actions import client_for
from huitouke.wecom.client import WeComError
from huitouke.wecom.models import (
    FollowState,
    WeComConnection,
    WeComContact,
    WeComCorpTag,
    WeComFollow,
    WeComMember,
)

logger = logging.getLogger("huitouke.wecom")


@dataclass
class _Linked:
    """One customer, her WeCom contacts (by id) and each contact's active follows (by userid)."""

    organisation_id: int
    owner_id: int | None
    contacts: list[WeComContact] = field(default_factory=list)
    follows: dict[int, dict[str, WeComFollow]] = field(default_factory=dict)


def _load_linked(customer_ids: Sequence[int]) -> dict[int, _Linked]:
    """The customers among `customer_ids` linked in WeCom, in id order: two queries."""
    linked: dict[int, _Linked] = {}
    contacts = (
        WeComContact.objects.filter(customer_id__in=list(customer_ids))
        .select_related("customer")
        .only(
            "id",
            "external_userid",
            "first_userid",
            "customer_id",
            "customer__organisation_id",
            "customer__owner_id",
        )
        .order_by("customer_id", "id")
    )
    by_contact: dict[int, _Linked] = {}
    for contact in contacts:
        customer: Customer = contact.customer
        entry = linked.setdefault(customer.pk, _Linked(customer.organisation_id, customer.owner_id))
        entry.contacts.append(contact)
        entry.follows[contact.pk] = {}
        by_contact[contact.pk] = entry
    if by_contact:
        for follow in WeComFollow.objects.filter(
            contact_id__in=list(by_contact), state=FollowState.ACTIVE
        ).only("id", "contact_id", "userid", "tag_ids"):
            by_contact[follow.contact_id].follows[follow.contact_id][follow.userid] = follow
    return linked


def _mark(
    linked: dict[int, _Linked],
    changes: dict[int, tuple[list[str], list[str]]],
    *,
    client: Any = None,
) -> int:
    """Mark `changes` (customer id → add, remove) on each of the customers' contacts, on the
    owner's follow (else the first adder's); keeps our copy of the follows' tags in step. Returns
    the calls made."""
    org_ids = {linked[c].organisation_id for c in changes}
    if not org_ids:
        return 0
    connections = {
        c.organisation_id: c
        for c in WeComConnection.objects.filter(organisation_id__in=sorted(org_ids))
        if c.is_complete
    }
    owner_ids = {
        linked[c].owner_id
        for c in changes
        if linked[c].owner_id and linked[c].organisation_id in connections
    }
    members: dict[tuple[int, int], str] = {}
    if owner_ids:
        for org_id, staff_id, userid in WeComMember.objects.filter(
            organisation_id__in=sorted(connections), staff_id__in=sorted(owner_ids)
        ).values_list("organisation_id", "staff_id", "userid"):
            members[(org_id, staff_id)] = userid
    clients: dict[int, Any] = {}
    touched: dict[int, WeComFollow] = {}
    calls = 0
    try:
        for customer_id, (add, remove) in changes.items():
            entry = linked[customer_id]
            connection = connections.get(entry.organisation_id)
            if connection is None:
                continue
            owner_userid = (
                members.get((entry.organisation_id, entry.owner_id)) if entry.owner_id else None
            )
            if connection.organisation_id not in clients:
                clients[connection.organisation_id] = client or client_for(connection)
            wecom = clients[connection.organisation_id]
            for contact in entry.contacts:
                active = entry.follows[contact.pk]
                userid = owner_userid if owner_userid in active else contact.first_userid
                if userid not in active:
                    continue
                try:
                    wecom.mark_tag(userid, contact.external_userid, add=add, remove=remove)
                    calls += 1
                except WeComError as error:
                    logger.warning("wecom mark_tag failed: %s", error.errcode)
                    continue
                # Keep our copy in step so the next sync finds nothing changed.
                follow = active[userid]
                tags = [t for t in follow.tag_ids if t not in remove]
                follow.tag_ids = sorted(set(tags) | set(add))
                touched[follow.pk] = follow
    finally:
        # Written even when a call fails past WeComError: what WeCom took is never marked twice.
        if touched:
            WeComFollow.objects.bulk_update(list(touched.values()), ["tag_ids"])
    return calls


def mark_tags(customer_id: int, add: list[str], remove: list[str], *, client: Any = None) -> int:
    """Mark the tags in WeCom on each of the customer's contacts; returns the calls made."""
    linked = _load_linked([customer_id])
    if customer_id not in linked:
        return 0
    return _mark(linked, {customer_id: (add, remove)}, client=client)


def reconcile_tags(customer_ids: Sequence[int], *, client: Any = None) -> int:
    """After a bulk write: mark in WeCom each corp tag these customers have in Huitouke that their
    follow lacks (never removes: a bulk write only adds tags). Returns the calls made.

    A fixed number of queries whatever the number of customers (see the module's docstring)."""
    linked = _load_linked(customer_ids)
    if not linked:
        return 0
    names: dict[int, set[str]] = {}
    for customer_id, name in Customer.tags.through.objects.filter(
        customer_id__in=list(linked)
    ).values_list("customer_id", "tag__name"):
        names.setdefault(customer_id, set()).add(name)
    if not names:
        return 0
    org_ids = sorted({linked[c].organisation_id for c in names})
    all_names = sorted(set().union(*names.values()))
    corp: dict[tuple[int, str], set[str]] = {}
    for org_id, name, tag_id in WeComCorpTag.objects.filter(
        organisation_id__in=org_ids, name__in=all_names
    ).values_list("organisation_id", "name", "tag_id"):
        corp.setdefault((org_id, name), set()).add(tag_id)
    changes: dict[int, tuple[list[str], list[str]]] = {}
    for customer_id, entry in linked.items():
        wanted: set[str] = set()
        for name in names.get(customer_id, ()):
            wanted |= corp.get((entry.organisation_id, name), set())
        if not wanted:
            continue
        marked: set[str] = set()
        for follows in entry.follows.values():
            for follow in follows.values():
                marked |= set(follow.tag_ids)
        missing = sorted(wanted - marked)
        if missing:
            changes[customer_id] = (missing, [])
    return _mark(linked, changes, client=client)
