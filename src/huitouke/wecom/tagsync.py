"""Tags both ways: a corp tag set or removed in Huitouke is marked in WeCom (mark_tag).

Customers' tags change through customers.actions.set_tags (m2m_changed) or in bulk (an import),
which sends customers.events.customers_changed instead: `reconcile_tags` then marks whatever corp
tag a changed customer has that her follow in WeCom lacks. The sync's own bulk inserts send
neither, so a sync never echoes back. Only tags named like a WeCom corp tag travel, on the follow
relation of the customer's owner (else the member who added her first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from huitouke.customers.models import Customer, Tag
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


def mark_tags(customer_id: int, add: list[str], remove: list[str], *, client: Any = None) -> int:
    """Mark the tags in WeCom on each of the customer's contacts; returns the calls made."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return 0
    connection = WeComConnection.objects.filter(organisation_id=customer.organisation_id).first()
    if connection is None or not connection.is_complete:
        return 0
    owner_userid = (
        WeComMember.objects.filter(
            organisation_id=customer.organisation_id, staff=customer.owner_id
        )
        .values_list("userid", flat=True)
        .first()
        if customer.owner_id
        else None
    )
    calls = 0
    wecom = client or client_for(connection)
    for contact in WeComContact.objects.filter(customer=customer):
        active = set(
            WeComFollow.objects.filter(contact=contact, state=FollowState.ACTIVE).values_list(
                "userid", flat=True
            )
        )
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
        follow = WeComFollow.objects.get(contact=contact, userid=userid)
        tags = [t for t in follow.tag_ids if t not in remove]
        follow.tag_ids = sorted(set(tags) | set(add))
        follow.save(update_fields=["tag_ids"])
    return calls


def reconcile_tags(customer_ids: Sequence[int], *, client: Any = None) -> int:
    """After a bulk write: mark in WeCom each corp tag these customers have in Huitouke that their
    follow lacks (never removes: a bulk write only adds tags). Returns the calls made."""
    calls = 0
    contacts = WeComContact.objects.filter(customer_id__in=list(customer_ids)).order_by(
        "customer_id"
    )
    by_customer: dict[int, list[WeComContact]] = {}
    for contact in contacts:
        by_customer.setdefault(contact.customer_id, []).append(contact)
    for customer_id, linked in by_customer.items():
        customer = Customer.objects.get(pk=customer_id)
        names = Tag.objects.filter(customers=customer).values_list("name", flat=True)
        wanted = set(
            WeComCorpTag.objects.filter(
                organisation_id=customer.organisation_id, name__in=list(names)
            ).values_list("tag_id", flat=True)
        )
        if not wanted:
            continue
        marked: set[str] = set()
        for contact in linked:
            for tag_ids in WeComFollow.objects.filter(
                contact=contact, state=FollowState.ACTIVE
            ).values_list("tag_ids", flat=True):
                marked |= set(tag_ids)
        missing = sorted(wanted - marked)
        if missing:
            calls += mark_tags(customer_id, missing, [], client=client)
    return calls
