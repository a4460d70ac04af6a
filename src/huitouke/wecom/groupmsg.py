"""The WeCom 群发 channel: a message becomes one add_msg_template task per sender (the
customer's owner), which she confirms in WeCom; the results are read back per customer.

Customers without an active WeCom link are returned as `fallback` (the caller sends them on
its next channel). Our frequency cap (one WeCom group message per customer per 30 days by
default) is checked here; WeCom's own monthly receive limit comes back as status 3 of
get_groupmsg_send_result and is recorded as such.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.wecom.actions import client_for
from huitouke.wecom.client import WeComError
from huitouke.wecom.models import (
    FollowState,
    GroupMessageStatus,
    RecipientStatus,
    WeComConnection,
    WeComFollow,
    WeComGroupMessage,
    WeComGroupRecipient,
    WeComMember,
)

CAP_DAYS = 30
# get_groupmsg_send_result status → ours (0 = not sent yet)
SEND_STATUS = {1: RecipientStatus.SENT, 2: RecipientStatus.NOT_FRIEND, 3: RecipientStatus.LIMIT}


@dataclass
class GroupPlan:
    messages: list[WeComGroupMessage] = field(default_factory=list)
    fallback: list[int] = field(default_factory=list)  # customer ids without a WeCom link
    capped: list[int] = field(default_factory=list)  # customer ids over our frequency cap


def do_queue_group_message(
    connection: WeComConnection,
    customers: Sequence[Customer],
    text: str,
    *,
    actor: Any,
    cap_days: int = CAP_DAYS,
) -> GroupPlan:
    """Plan the 群发 per owner and send it to WeCom after commit."""
    plan = GroupPlan()
    org_id = connection.organisation_id
    owner_userid = dict(
        WeComMember.objects.filter(organisation_id=org_id, staff__isnull=False).values_list(
            "staff_id", "userid"
        )
    )
    ids = [c.pk for c in customers if c.organisation_id == org_id]
    owners = {c.pk: c.owner_id for c in customers}
    recent = set(
        WeComGroupRecipient.objects.filter(
            customer_id__in=ids,
            created_at__gte=timezone.now() - timedelta(days=cap_days),
        )
        # Only messages she received (or may still receive) count against our cap.
        .exclude(
            status__in=[RecipientStatus.FAILED, RecipientStatus.NOT_FRIEND, RecipientStatus.LIMIT]
        )
        .values_list("customer_id", flat=True)
    )
    # The sender must be the owner's WeCom member, and she must still be that member's friend.
    links: dict[int, str] = {}
    for customer_id, userid, ext in WeComFollow.objects.filter(
        contact__customer_id__in=ids, state=FollowState.ACTIVE
    ).values_list("contact__customer_id", "userid", "contact__external_userid"):
        if owner_userid.get(owners.get(customer_id) or 0) == userid:
            links.setdefault(customer_id, ext)
    by_sender: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for customer_id in ids:
        if customer_id not in links:
            plan.fallback.append(customer_id)
        elif customer_id in recent:
            plan.capped.append(customer_id)
        else:
            sender = owner_userid[owners[customer_id] or 0]
            by_sender[sender].append((customer_id, links[customer_id]))
    with transaction.atomic():
        for sender, rows in by_sender.items():
            message = WeComGroupMessage.objects.create(
                organisation_id=org_id, sender=sender, text=text
            )
            WeComGroupRecipient.objects.bulk_create(
                WeComGroupRecipient(message=message, customer_id=c, external_userid=e)
                for c, e in rows
            )
            plan.messages.append(message)
        ids_to_send = [m.pk for m in plan.messages]
        if ids_to_send:
            transaction.on_commit(lambda: send_group_messages(ids_to_send))
    return plan


def send_group_messages(message_ids: Sequence[int], *, client: Any = None) -> None:
    for message in WeComGroupMessage.objects.filter(
        pk__in=message_ids, status=GroupMessageStatus.PENDING
    ):
        connection = WeComConnection.objects.get(organisation_id=message.organisation_id)
        wecom = client or client_for(connection)
        recipients = list(message.recipients.values_list("external_userid", flat=True))
        try:
            msgid = wecom.add_msg_template(message.sender, recipients, message.text)
        except WeComError as error:
            WeComGroupMessage.objects.filter(pk=message.pk).update(
                status=GroupMessageStatus.FAILED, error=str(error.errcode)
            )
            message.recipients.update(status=RecipientStatus.FAILED)
            continue
        WeComGroupMessage.objects.filter(pk=message.pk).update(
            status=GroupMessageStatus.WAITING, msgid=msgid
        )


def refresh_group_message(message: WeComGroupMessage, *, client: Any = None) -> dict[str, int]:
    """Read the task and per-customer results back (get_groupmsg_task, get_groupmsg_send_result)."""
    message.refresh_from_db()
    if not message.msgid:
        return {}
    connection = WeComConnection.objects.get(organisation_id=message.organisation_id)
    wecom = client or client_for(connection)
    task = wecom.call(
        "POST", "externalcontact/get_groupmsg_task", body={"msgid": message.msgid, "limit": 1000}
    )
    confirmed = any(
        t.get("userid") == message.sender and int(t.get("status", 0)) == 2
        for t in task.get("task_list", [])
    )
    results = wecom.groupmsg_send_result(message.msgid, message.sender)
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        for row in results:
            status = SEND_STATUS.get(int(row.get("status", 0)))
            if status is None:
                continue
            message.recipients.filter(external_userid=str(row.get("external_userid"))).exclude(
                status=status
            ).update(status=status)
            counts[str(status)] += 1
        WeComGroupMessage.objects.filter(pk=message.pk).update(
            status=GroupMessageStatus.SENT if confirmed else GroupMessageStatus.WAITING,
            checked_at=timezone.now(),
        )
    return dict(counts)
