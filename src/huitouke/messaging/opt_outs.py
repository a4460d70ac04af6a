"""Opt-outs: she asks for no more messages on a channel (by hand, by API, or by replying a stop
word to an SMS), or withdraws that; queued messages on a covered channel are suppressed and her
consent flags follow, in one transaction with the audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.customers.changes import consent_of, customers_changed
from huitouke.customers.models import Customer
from huitouke.customers.phones import normalise_phone
from huitouke.messaging.actions import COVERED_BY
from huitouke.messaging.models import (
    Channel,
    Message,
    MessageStatus,
    OptOut,
    OptOutChannel,
    OptOutSource,
    SuppressReason,
)

# Replies that mean "stop" (回T退订 asks for T; people also write the word itself).
STOP_WORDS = frozenset({"T", "TD", "退订", "N", "STOP", "UNSUBSCRIBE", "取消", "退"})


def do_opt_out(
    customer: Customer,
    *,
    channel: str,
    source: str,
    actor: Any,
    note: str = "",
    request: Any = None,
    now: datetime | None = None,
) -> OptOut:
    """Record that she wants no more messages on a channel; queued ones on it are suppressed."""
    if channel not in OptOutChannel.values:
        raise ValidationError({"channel": _("Choose a channel.")})
    if source not in OptOutSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    now = now or timezone.now()
    with transaction.atomic():
        opt_out, created = OptOut.objects.get_or_create(
            customer=customer,
            channel=channel,
            defaults={
                "organisation_id": customer.organisation_id,
                "source": source,
                "note": note[:200],
                "at": now,
            },
        )
        covered = [c for c, by in COVERED_BY.items() if channel in by]
        # Messages not yet sent on a covered channel stop here too (the sender checks again).
        queued = Message.objects.filter(
            customer=customer, channel__in=covered, status=MessageStatus.QUEUED
        )
        if Channel.TASK in covered:
            queued = queued.exclude(channel=Channel.TASK, is_marketing=False)
        queued.update(status=MessageStatus.SUPPRESSED, reason=SuppressReason.OPTED_OUT)
        consent = {
            OptOutChannel.SMS: ["consent_sms"],
            OptOutChannel.EMAIL: ["consent_email"],
            OptOutChannel.WECHAT: ["consent_wechat"],
            OptOutChannel.ALL: ["consent_sms", "consent_email", "consent_wechat"],
        }[OptOutChannel(channel)]
        before = consent_of([customer.pk]).get(customer.pk)
        Customer.objects.filter(pk=customer.pk).update(
            consent_updated_at=now, updated_at=now, **dict.fromkeys(consent, False)
        )
        for field in consent:
            setattr(customer, field, False)
        after = consent_of([customer.pk])
        if after.get(customer.pk) != before:
            customers_changed(customer.organisation_id, updated=[customer.pk], consent=after)
        if created:
            record_audit(
                actor=actor,
                organisation=customer.organisation,
                action="opt_out",
                target=customer,
                request=request,
                detail={"channel": channel, "source": source},
            )
    return opt_out


def do_remove_opt_out(customer: Customer, *, channel: str, actor: Any, request: Any = None) -> int:
    """Withdraw an opt-out (she asked to hear from the store again); consent is set separately."""
    with transaction.atomic():
        deleted, _rows = OptOut.objects.filter(customer=customer, channel=channel).delete()
        if deleted:
            # Her consent flags stay as they are, but she may hear from the store again.
            customers_changed(customer.organisation_id, consent=consent_of([customer.pk]))
            record_audit(
                actor=actor,
                organisation=customer.organisation,
                action="opt_in",
                target=customer,
                request=request,
                detail={"channel": channel},
            )
    return deleted


def is_stop_reply(text: str) -> bool:
    """Whether a reply to an SMS asks to stop (T, TD, 退订 ...)."""
    return text.strip().strip("。.!！ ").upper() in STOP_WORDS


def record_reply(
    organisation: Organisation, *, phone: str, text: str, now: datetime | None = None
) -> list[OptOut]:
    """A provider forwarded a reply: a stop word opts out every customer with that number."""
    if not is_stop_reply(text):
        return []

    try:
        number = normalise_phone(phone)
    except ValidationError:
        return []  # a reply from a number that is not a phone: nobody to opt out
    customers = Customer.objects.active().filter(organisation=organisation, phone=number)
    return [
        do_opt_out(
            customer,
            channel=OptOutChannel.SMS,
            source=OptOutSource.REPLY,
            actor=None,
            note=text[:200],
            now=now,
        )
        for customer in customers
    ]
