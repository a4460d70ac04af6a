"""Every write to messaging: enqueueing (with caps, consent, opt-outs, quiet hours), delivery
reports and retries. Opt-outs are messaging.opt_outs; templates, channels and settings are
messaging.setup_actions.

Enqueueing never sends: it writes a Message row (queued, or suppressed with its reason) in the
caller's transaction, and the outbox sender delivers it after commit. A message is identified by
its idempotency key, so enqueueing the same key twice returns the first message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.core.locks import lock_customer
from huitouke.customers.models import Customer
from huitouke.messaging import senders
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    Message,
    MessageStatus,
    MessageTemplate,
    MessagingSettings,
    OptOut,
    OptOutChannel,
    SuppressReason,
)
from huitouke.messaging.quiet import postpone
from huitouke.messaging.rendering import (
    MISSING_PREFIX,
    customer_variables,
    missing_variables,
    render,
)

OPT_OUT_TEXT = "回T退订"
# Suppressions a fallback channel can get round; a frequency cap covers every channel.
FALLBACK_REASONS = frozenset(
    {
        SuppressReason.OPTED_OUT,
        SuppressReason.NO_CONSENT,
        SuppressReason.NO_ADDRESS,
        SuppressReason.NO_CHANNEL,
    }
)
# Which opt-outs cover which channel. A staff task is a person calling or writing on WeChat.
COVERED_BY: dict[str, list[str]] = {
    Channel.SMS: [OptOutChannel.SMS, OptOutChannel.ALL],
    Channel.EMAIL: [OptOutChannel.EMAIL, OptOutChannel.ALL],
    Channel.TASK: [OptOutChannel.WECHAT, OptOutChannel.ALL],
    Channel.WECOM: [OptOutChannel.WECHAT, OptOutChannel.ALL],
}
_CONSENT_FIELD: dict[str, str] = {
    Channel.SMS: "consent_sms",
    Channel.EMAIL: "consent_email",
    Channel.TASK: "consent_wechat",
    Channel.WECOM: "consent_wechat",
}


def ensure_settings(organisation: Organisation | int) -> MessagingSettings:
    """The organisation's messaging settings, created with the defaults on first use."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    found = MessagingSettings.objects.filter(pk=org_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MessagingSettings.objects.create(organisation_id=org_id)
    except IntegrityError:  # created by a concurrent first use
        return MessagingSettings.objects.get(pk=org_id)


def channel_ready(organisation_id: int, channel: str) -> bool:
    """Whether the organisation can send on this channel (a provider, or its WeCom connection)."""
    if channel == Channel.TASK:
        return True
    sender = senders.sender_for(channel)
    if channel == Channel.WECOM:
        return sender is not None and sender.is_set_up(organisation_id)
    return active_config(organisation_id, channel) is not None


def active_config(organisation_id: int, channel: str) -> ChannelConfig | None:
    """The organisation's active provider for a channel, if it set one up."""
    return ChannelConfig.objects.filter(
        organisation_id=organisation_id, channel=channel, is_active=True
    ).first()


def recipient_for(customer: Customer, channel: str) -> str:
    """Her phone (SMS), email, WeCom external_userid, or 'staff' for a task ('' when none)."""
    if channel == Channel.SMS:
        return customer.phone or ""
    if channel == Channel.EMAIL:
        return customer.email or ""
    if channel == Channel.WECOM:
        # Her external_userid with her owner's WeCom member ('' without one: the next channel).
        sender = senders.sender_for(channel)
        return sender.recipient_for(customer) if sender else ""
    return "staff"


def is_opted_out(customer_id: int, channel: str) -> bool:
    """Whether an opt-out covers this channel for her."""
    return OptOut.objects.filter(customer_id=customer_id, channel__in=COVERED_BY[channel]).exists()


def suppression_reason(
    customer: Customer,
    channel: str,
    *,
    is_marketing: bool,
    cap_exempt: bool,
    now: datetime,
    check_cap: bool = True,
) -> str | None:
    """Why a message to her on this channel must not go out now, or None."""
    if customer.merged_into_id is not None:
        return SuppressReason.MERGED
    # A staff member keeps in touch by phone or WeChat unless she asked everyone to stop.
    if channel != Channel.TASK or is_marketing:
        if is_opted_out(customer.pk, channel):
            return SuppressReason.OPTED_OUT
        if is_marketing and not getattr(customer, _CONSENT_FIELD[channel]):
            return SuppressReason.NO_CONSENT
    if channel != Channel.TASK:
        if not recipient_for(customer, channel):
            return SuppressReason.NO_ADDRESS
        if not channel_ready(customer.organisation_id, channel):
            return SuppressReason.NO_CHANNEL
    if check_cap and is_marketing and not cap_exempt and cap_reached(customer.pk, now):
        return SuppressReason.FREQUENCY_CAP
    return None


def cap_reached(customer_id: int, now: datetime) -> bool:
    """Whether she already got the organisation's allowance of marketing messages."""
    organisation_id = Customer.objects.values_list("organisation_id", flat=True).get(pk=customer_id)
    rules = ensure_settings(organisation_id)
    since = now - timedelta(days=rules.cap_days)
    sent = (
        Message.objects.counting_toward_cap()
        .filter(customer_id=customer_id, created_at__gt=since, created_at__lte=now)
        .count()
    )
    return sent >= rules.cap_messages


def sms_signature(customer: Customer) -> str:
    """The signature of her store (【…】 in the text), else of the organisation's first store."""
    stores = [customer.home_store] if customer.home_store_id else []
    stores += list(customer.organisation.stores.order_by("id"))
    for store in stores:
        if store is not None and store.sms_signature:
            return store.sms_signature.strip().removeprefix("【").removesuffix("】")
    return customer.organisation.name[:20]


def sms_text(body: str, signature: str, *, marketing: bool) -> str:
    """【signature】text, and 回T退订 at the end of marketing texts."""
    text = f"【{signature}】{body.strip()}"
    if marketing and "退订" not in text:
        text = f"{text} {OPT_OUT_TEXT}"
    return text


def enqueue_message(
    *,
    customer: Customer,
    channel: str,
    template: MessageTemplate,
    idempotency_key: str,
    is_marketing: bool = False,
    cap_exempt: bool = False,
    quiet: tuple[time, time] | None = (time(21), time(9)),
    rule: Any = None,
    enrolment: Any = None,
    variables: Mapping[str, str] | None = None,
    fallback_channel: str = "",
    fallback_template: MessageTemplate | None = None,
    now: datetime | None = None,
) -> Message:
    """Queue one message (or record it as suppressed, with the reason); returns the message that will go out.

    When the channel is ruled out for her (opt-out, no consent, no address, not set up) and a
    fallback is given, the fallback is queued as well and returned.
    """
    now = now or timezone.now()
    existing = Message.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _effective(existing)
    if template.organisation_id != customer.organisation_id:
        raise ValidationError({"template": _("This template belongs to another organisation.")})
    if template.channel != channel:
        raise ValidationError({"template": _("This template is for another channel.")})
    values = dict(variables) if variables is not None else customer_variables(customer)
    with transaction.atomic():
        lock_customer(customer.pk)
        reason = suppression_reason(
            customer, channel, is_marketing=is_marketing, cap_exempt=cap_exempt, now=now
        )
        message = _build(
            customer,
            channel,
            template,
            values,
            idempotency_key=idempotency_key,
            is_marketing=is_marketing,
            cap_exempt=cap_exempt,
            quiet=quiet,
            rule_id=getattr(rule, "pk", None),
            enrolment_id=getattr(enrolment, "pk", None),
            now=now,
        )
        message.fallback_channel = fallback_channel if fallback_template else ""
        message.fallback_template = fallback_template if fallback_channel else None
        missing = missing_variables(
            [template.body, template.subject], values, list(template.sms_params or [])
        )
        if reason:
            message.status = MessageStatus.SUPPRESSED
            message.reason = reason
        elif missing:
            # Never a text with a hole in it ("券码，30天内有效"): blocked, the reason kept.
            message.status = MessageStatus.SUPPRESSED
            message.error = MISSING_PREFIX + ",".join(missing)
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:  # the same key enqueued concurrently: that one stands
            return _effective(Message.objects.get(idempotency_key=idempotency_key))
        if reason in FALLBACK_REASONS and message.fallback_template is not None:
            return enqueue_fallback(message, now=now) or message
    return message


def _effective(message: Message) -> Message:
    fallback = Message.objects.filter(fallback_of=message).first()
    return fallback if fallback is not None else message


def _build(
    customer: Customer,
    channel: str,
    template: MessageTemplate,
    values: dict[str, str],
    *,
    idempotency_key: str,
    is_marketing: bool,
    cap_exempt: bool,
    quiet: tuple[time, time] | None,
    rule_id: int | None,
    enrolment_id: int | None,
    now: datetime,
) -> Message:
    body = render(template.body, values, mark_missing=True)
    signature = ""
    if channel == Channel.SMS:
        signature = sms_signature(customer)
        body = sms_text(body, signature, marketing=is_marketing)
    tz = ZoneInfo(customer.organisation.time_zone)
    start, end = quiet if quiet else (None, None)
    return Message(
        organisation_id=customer.organisation_id,
        customer=customer,
        channel=channel,
        template=template,
        recipient=recipient_for(customer, channel),
        subject=render(template.subject, values, mark_missing=True)[:200],
        body=body,
        provider_template_code=template.provider_template_code,
        template_params={name: values.get(name, "") for name in template.sms_params or []},
        sms_signature=signature,
        idempotency_key=idempotency_key,
        rule_id=rule_id,
        enrolment_id=enrolment_id,
        is_marketing=is_marketing,
        counts_toward_cap=is_marketing and not cap_exempt,
        quiet_start=start,
        quiet_end=end,
        variables=values,
        created_at=now,
        # Quiet hours postpone the first attempt; the sender checks them again before sending.
        next_attempt_at=postpone(now, start, end, tz),
    )


def enqueue_fallback(message: Message, *, now: datetime | None = None) -> Message | None:
    """Queue the fallback of a suppressed or failed message once; None when it has none."""
    if not message.fallback_channel or message.fallback_template_id is None:
        return None
    now = now or timezone.now()
    template = MessageTemplate.objects.get(pk=message.fallback_template_id)
    if template.channel != message.fallback_channel:
        return None
    quiet = (
        (message.quiet_start, message.quiet_end)
        if message.quiet_start is not None and message.quiet_end is not None
        else None
    )
    customer = Customer.objects.select_related("organisation", "home_store").get(
        pk=message.customer_id
    )
    with transaction.atomic():
        lock_customer(customer.pk)
        existing = Message.objects.filter(fallback_of=message).first()
        if existing is not None:
            return existing
        # The primary message is suppressed or failed by now, so it no longer counts toward the
        # cap: the fallback takes its place under the same cap.
        reason = suppression_reason(
            customer,
            message.fallback_channel,
            is_marketing=message.is_marketing,
            cap_exempt=not message.counts_toward_cap,
            now=now,
        )
        fallback = _build(
            customer,
            message.fallback_channel,
            template,
            dict(message.variables),
            idempotency_key=f"{message.idempotency_key}:fallback"[:150],
            is_marketing=message.is_marketing,
            cap_exempt=not message.counts_toward_cap,
            quiet=quiet,
            rule_id=message.rule_id,
            enrolment_id=message.enrolment_id,
            now=now,
        )
        fallback.fallback_of = message
        if reason:
            fallback.status = MessageStatus.SUPPRESSED
            fallback.reason = reason
        try:
            with transaction.atomic():
                fallback.save()
        except IntegrityError:
            return Message.objects.filter(fallback_of=message).first()
    return fallback


# --- delivery reports and retries -------------------------------------------------------------


def record_delivery(
    organisation: Organisation,
    *,
    provider_message_id: str = "",
    idempotency_key: str = "",
    delivered: bool,
    error: str = "",
    at: datetime | None = None,
) -> int:
    """A provider's delivery report for one sent message (matched by its id or our key)."""
    if not provider_message_id and not idempotency_key:
        return 0
    messages = Message.objects.filter(organisation=organisation, status=MessageStatus.SENT)
    if provider_message_id:
        messages = messages.filter(provider_message_id=provider_message_id)
    else:
        messages = messages.filter(idempotency_key=idempotency_key)
    if delivered:
        return messages.filter(delivered_at__isnull=True).update(delivered_at=at or timezone.now())
    # Sent but not delivered (number off, blocked): a failure the owner should see.
    return messages.update(status=MessageStatus.FAILED, error=(error or "not delivered")[:300])


def do_retry_message(message: Message, *, actor: Any, request: Any = None) -> Message:
    """Send a failed message again (the owner fixed the channel); its key stays the same."""
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            error="",
            updated_at=timezone.now(),
        )
        if not updated:
            raise ValidationError(_("Only failed messages can be sent again."))
        record_audit(
            actor=actor,
            organisation=message.customer.organisation,
            action="message_retry",
            target=message.customer,
            request=request,
            detail={"message": message.pk},
        )
    message.refresh_from_db()
    return message
