"""WeCom as a channel of messaging's outbox: a queued message becomes part of a 群发 task.

The outbox calls `recipient_for` when it builds a message (her external_userid with her owner's
WeCom member, '' when she has no active follow by the owner: the message is then "no address"
and the rule's next channel takes over), `is_set_up` for "channel not set up", and `send` when a
message is due. `send` gathers the other due WeCom messages with the same text and the same
sender (the customer's owner), claims them, and makes one add_msg_template task of them, which
the staff member confirms in WeCom; every claimed message is then "sent" with the task's msgid.
`refresh_outbox` reads the per-customer results back: received → delivered; not a friend any
more, or WeCom's own monthly receive limit → failed, and the message's fallback is queued.
Our frequency cap is the outbox's (the messages count toward it like any other channel's).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.messaging.actions import enqueue_fallback
from huitouke.messaging.models import Channel, Message, MessageStatus, SuppressReason
from huitouke.wecom.actions import client_for
from huitouke.wecom.client import RETRY_ERRORS, WeComError
from huitouke.wecom.groupmsg import refresh_group_message
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

PROVIDER = "wecom"
# add_msg_template takes at most 10,000 external_userids per task.
MAX_RECIPIENTS = 10_000
# WeCom: one customer receives at most 4 of a corp's group messages per calendar month; a task
# over it would only come back as status 3, so she goes to her next channel straight away.
MONTHLY_LIMIT = 4
POLL_DAYS = 30


def over_monthly_limit(customer: Customer, now: datetime) -> bool:
    """Whether she already has WeCom's monthly allowance of group messages (sent or waiting)."""
    local = timezone.localtime(now, ZoneInfo(customer.organisation.time_zone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        WeComGroupRecipient.objects.filter(
            customer_id=customer.pk,
            created_at__gte=month_start,
            status__in=[RecipientStatus.QUEUED, RecipientStatus.SENT],
        ).count()
        >= MONTHLY_LIMIT
    )


def sender_for(customer: Customer) -> str:
    """Her owner's WeCom userid ('' when the owner has none)."""
    if not customer.owner_id:
        return ""
    return (
        WeComMember.objects.filter(
            organisation_id=customer.organisation_id, staff_id=customer.owner_id
        )
        .values_list("userid", flat=True)
        .first()
        or ""
    )


def recipient_for(customer: Customer) -> str:
    """Her external_userid, when her owner's WeCom member still has her as a contact; else ''."""
    sender = sender_for(customer)
    if not sender:
        return ""
    return (
        WeComFollow.objects.filter(
            contact__customer_id=customer.pk, userid=sender, state=FollowState.ACTIVE
        )
        .values_list("contact__external_userid", flat=True)
        .first()
        or ""
    )


def is_set_up(organisation_id: int) -> bool:
    return WeComConnection.objects.filter(organisation_id=organisation_id).exists()


def send(
    message: Any,
    customer: Customer,
    now: datetime,
    *,
    claim: Callable[[int, datetime], bool],
    finish: Callable[..., bool],
    admit: Callable[[Any, Customer, datetime], str | None],
    failed: Callable[[Any, Exception, datetime, bool], str],
) -> str:
    """Send `message` (claimed by the outbox) with the due messages that can share its task.

    claim/finish/admit/failed are the outbox's: take a message, write its outcome, say whether
    a companion may go now (None) or what happened to it instead, record a failed attempt.
    """

    sender = sender_for(customer)
    external = recipient_for(customer)
    if not sender or not external:
        return _no_link(message, now, finish, SuppressReason)
    if over_monthly_limit(customer, now):
        return failed(message, RuntimeError(str(RecipientStatus.LIMIT.label)), now, False)
    batch: list[tuple[Any, str]] = [(message, external)]
    companions = (
        Message.objects.filter(
            organisation_id=message.organisation_id,
            channel=Channel.WECOM,
            status=MessageStatus.QUEUED,
            next_attempt_at__lte=now,
            body=message.body,
        )
        .exclude(pk=message.pk)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "customer_id")[: MAX_RECIPIENTS - 1]
    )
    for pk, customer_id in list(companions):
        other_customer = Customer.objects.select_related("organisation").get(pk=customer_id)
        if sender_for(other_customer) != sender:
            continue  # another owner's task: it is sent on its own turn
        if not claim(pk, now):
            continue  # another worker has it
        other = Message.objects.get(pk=pk)  # read after the claim: its attempts count this one
        if admit(other, other_customer, now) is not None:
            continue  # suppressed or postponed by the outbox's own checks
        other_external = recipient_for(other_customer)
        if not other_external:
            _no_link(other, now, finish, SuppressReason)
            continue
        if over_monthly_limit(other_customer, now):
            failed(other, RuntimeError(str(RecipientStatus.LIMIT.label)), now, False)
            continue
        batch.append((other, other_external))
    connection = WeComConnection.objects.get(organisation_id=message.organisation_id)

    try:
        msgid, fail_list = client_for(connection).create_msg_task(
            sender, [e for _m, e in batch], message.body
        )
    except WeComError as error:
        transient = error.errcode is None or error.errcode in RETRY_ERRORS
        outcome = ""
        for m, _e in batch:
            result = failed(m, error, now, transient)
            outcome = outcome or result
        return outcome
    refused = set(fail_list)
    with transaction.atomic():
        task = WeComGroupMessage.objects.create(
            organisation_id=message.organisation_id,
            sender=sender,
            text=message.body,
            status=GroupMessageStatus.WAITING,
            msgid=msgid,
        )
        WeComGroupRecipient.objects.bulk_create(
            WeComGroupRecipient(
                message=task,
                customer_id=m.customer_id,
                external_userid=e,
                outbox_message_id=m.pk,
                created_at=now,
                status=RecipientStatus.NOT_FRIEND if e in refused else RecipientStatus.QUEUED,
            )
            for m, e in batch
        )
    first = ""
    for m, e in batch:
        if e in refused:
            result = failed(m, RuntimeError(f"not a contact of {sender}"), now, False)
        else:
            finish(
                m.pk,
                status=MessageStatus.SENT,
                provider=PROVIDER,
                provider_message_id=msgid[:100],
                sent_at=now,
                cost=Decimal("0"),
                error="",
            )
            result = "sent"
        first = first or result
    return first


def _no_link(message: Any, now: datetime, finish: Callable[..., bool], reasons: Any) -> str:

    finish(message.pk, status=MessageStatus.SUPPRESSED, reason=reasons.NO_ADDRESS)
    enqueue_fallback(message, now=now)
    return "suppressed"


def refresh_outbox(task: WeComGroupMessage, *, client: Any = None) -> dict[str, int]:
    """Read a task's results back into its recipients and their outbox messages."""

    counts = refresh_group_message(task, client=client)
    now = timezone.now()
    rows = task.recipients.filter(outbox_message__isnull=False).values_list(
        "outbox_message_id", "status"
    )
    for message_id, status in rows:
        if status == RecipientStatus.SENT:
            Message.objects.filter(
                pk=message_id, status=MessageStatus.SENT, delivered_at__isnull=True
            ).update(delivered_at=now, updated_at=now)
        elif status in (RecipientStatus.NOT_FRIEND, RecipientStatus.LIMIT):
            reason = str(RecipientStatus(status).label)
            if Message.objects.filter(pk=message_id, status=MessageStatus.SENT).update(
                status=MessageStatus.FAILED, error=reason[:300], updated_at=now
            ):
                enqueue_fallback(Message.objects.get(pk=message_id), now=now)
    return counts


def refresh_waiting(now: datetime | None = None) -> int:
    """Every task still waiting for its staff member or its results (the periodic job)."""
    done = 0
    now = now or timezone.now()
    # A task nobody confirmed within POLL_DAYS is not asked about any more.
    for task in WeComGroupMessage.objects.filter(
        created_at__gte=now - timedelta(days=POLL_DAYS),
        status__in=[GroupMessageStatus.WAITING, GroupMessageStatus.SENT],
        recipients__outbox_message__isnull=False,
        recipients__status=RecipientStatus.QUEUED,
    ).distinct():
        try:
            refresh_outbox(task)
        except WeComError:
            continue
        done += 1
    return done


def linked() -> Q:
    """Customers (a Customer filter) whose owner's WeCom member has her as an active contact."""
    members = WeComMember.objects.filter(
        organisation_id=OuterRef(OuterRef("organisation_id")),
        staff_id=OuterRef(OuterRef("owner_id")),
    ).values("userid")
    return Q(
        Exists(
            WeComFollow.objects.filter(
                contact__customer_id=OuterRef("pk"),
                state=FollowState.ACTIVE,
                userid__in=Subquery(members),
            )
        )
    )
