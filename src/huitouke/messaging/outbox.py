"""The outbox sender: claims queued messages one by one and hands each to its channel's transport.

Claiming is a conditional UPDATE (queued -> sending) whose row count says who won, so any
number of workers can run the sender at once and each message is attempted by one of them.
The provider call happens outside any transaction; its outcome is written with another
conditional UPDATE. Transient failures come back after an exponential back-off, permanent ones
(or too many attempts) fail the message and queue its fallback channel, if it has one. A worker
killed mid-send leaves the message in `sending`; after STALE_AFTER it is queued again, and the
idempotency key (OutId / SessionContext / Message-ID) goes out with every attempt.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huitouke.customers.models import Customer
from huitouke.messaging import senders
from huitouke.messaging.actions import (
    FALLBACK_REASONS,
    active_config,
    enqueue_fallback,
    ensure_settings,
    suppression_reason,
)
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    Message,
    MessageStatus,
    Provider,
    SuppressReason,
)
from huitouke.messaging.quiet import postpone
from huitouke.messaging.staff_task import create_staff_task
from huitouke.messaging.transports import (
    PermanentSendError,
    SendError,
    TransientSendError,
    Transport,
)
from huitouke.messaging.transports.aliyun import AliyunSmsConfig, AliyunSmsTransport
from huitouke.messaging.transports.smtp import SmtpConfig, SmtpTransport
from huitouke.messaging.transports.tencent import TencentSmsConfig, TencentSmsTransport

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempt: int, first_seconds: int) -> timedelta:
    """Wait before attempt `attempt + 1`: first_seconds, then doubling, at most six hours."""
    return min(timedelta(seconds=first_seconds * 2 ** max(attempt - 1, 0)), MAX_BACKOFF)


def _required(settings: dict[str, Any], *names: str) -> list[str]:
    values = [str(settings.get(name) or "").strip() for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise PermanentSendError(
            f"channel settings incomplete: {', '.join(missing)}", provider="config", code="config"
        )
    return values


def transport_for(config: ChannelConfig, message: Message) -> Transport:
    """The transport that sends `message` with the organisation's provider settings."""
    s = config.plain_settings()
    if config.provider == Provider.SMTP:
        host, from_address = _required(s, "host", "from_address")
        security: Literal["none", "starttls", "ssl"] = "none"
        if s.get("security") in ("starttls", "ssl"):
            security = s["security"]
        return SmtpTransport(
            SmtpConfig(
                host=host,
                from_address=from_address,
                port=int(s.get("port") or 25),
                username=str(s.get("username") or ""),
                password=str(s.get("password") or ""),
                security=security,
                from_name=str(s.get("from_name") or ""),
                timeout=float(s.get("timeout") or 10),
            )
        )
    sign_name = message.sms_signature or str(s.get("sign_name") or "")
    if config.provider == Provider.ALIYUN:
        key_id, secret = _required(s, "access_key_id", "access_key_secret")
        extra = {k: str(s[k]) for k in ("endpoint", "region_id") if s.get(k)}
        return AliyunSmsTransport(
            AliyunSmsConfig(
                access_key_id=key_id,
                access_key_secret=secret,
                sign_name=sign_name,
                timeout=float(s.get("timeout") or 10),
                **extra,  # type: ignore[arg-type]
            )
        )
    if config.provider == Provider.TENCENT:
        secret_id, secret_key, app_id = _required(s, "secret_id", "secret_key", "sms_sdk_app_id")
        extra = {k: str(s[k]) for k in ("endpoint", "region") if s.get(k)}
        return TencentSmsTransport(
            TencentSmsConfig(
                secret_id=secret_id,
                secret_key=secret_key,
                sms_sdk_app_id=app_id,
                sign_name=sign_name,
                timeout=float(s.get("timeout") or 10),
                **extra,  # type: ignore[arg-type]
            )
        )
    raise PermanentSendError(f"unknown provider {config.provider!r}", provider="config")


def release_stale(now: datetime) -> int:
    """Queue again messages left `sending` by a worker that died mid-send."""
    return Message.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lt=now - STALE_AFTER
    ).update(status=MessageStatus.QUEUED, next_attempt_at=now)


def send_due(
    *, now: datetime | None = None, limit: int = 200, budget_seconds: float | None = None
) -> Counter[str]:
    """Send the queued messages that are due; returns how many ended sent, retried, failed ...

    One batch of `limit`, or, with a time budget, batches until none is due or it is spent.
    """
    now = now or timezone.now()
    started = time.monotonic()
    release_stale(now)
    outcomes: Counter[str] = Counter()
    while True:
        due = list(
            Message.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        for pk in due:
            outcomes[send_one(pk, now=now)] += 1
        if (
            budget_seconds is None
            or len(due) < limit
            or time.monotonic() - started > budget_seconds
        ):
            return outcomes


def claim(pk: int, now: datetime) -> bool:
    """Take a queued, due message for this worker; False when another worker has it."""
    return (
        Message.objects.filter(pk=pk, status=MessageStatus.QUEUED, next_attempt_at__lte=now).update(
            status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
        == 1
    )


def _finish(pk: int, **fields: Any) -> bool:
    # Only the worker holding the claim writes the outcome.
    fields.setdefault("updated_at", timezone.now())  # .update() skips auto_now; feeds need it
    return Message.objects.filter(pk=pk, status=MessageStatus.SENDING).update(**fields) == 1


def send_one(pk: int, *, now: datetime | None = None) -> str:
    """Attempt one message: "sent", "retry", "failed", "suppressed", "postponed" or "skipped"."""
    now = now or timezone.now()
    if not claim(pk, now):
        return "skipped"
    message = Message.objects.select_related("customer").get(pk=pk)
    customer = Customer.objects.select_related("organisation", "home_store").get(
        pk=message.customer_id
    )
    held = _hold(message, customer, now)
    if held is not None:
        return held
    if message.channel == Channel.TASK:
        return _send_task(message, customer, now)
    if message.channel == Channel.WECOM:
        return _send_wecom(message, customer, now)
    config = active_config(message.organisation_id, message.channel)
    try:
        if config is None:
            raise PermanentSendError("channel not set up", provider="config", code="config")
        transport = transport_for(config, message)
        result = transport.send(
            message.recipient,
            message.subject or None,
            message.body,
            template_code=message.provider_template_code or None,
            template_params={k: str(v) for k, v in (message.template_params or {}).items()} or None,
            idempotency_key=message.idempotency_key,
        )
    except TransientSendError as error:
        return _failed_attempt(message, error, now, transient=True)
    except PermanentSendError as error:
        return _failed_attempt(message, error, now, transient=False)
    except Exception as error:  # a bug or an unexpected library error: retry, and log it
        logger.exception("sending message %s failed unexpectedly", pk)
        wrapped = TransientSendError(str(error)[:200], provider=config.provider if config else "")
        return _failed_attempt(message, wrapped, now, transient=True)
    _finish(
        pk,
        status=MessageStatus.SENT,
        provider=config.provider,
        provider_message_id=result.provider_message_id[:100],
        sent_at=now,
        cost=config.unit_cost,
        error="",
        # Email has no delivery reports: accepted by the receiving server counts as delivered.
        delivered_at=now if message.channel == Channel.EMAIL else None,
    )
    return "sent"


def _hold(message: Message, customer: Customer, now: datetime) -> str | None:
    """What stops a claimed message now ("suppressed", "postponed"), or None: send it."""
    # She may have opted out (or been merged) since the message was queued.
    reason = suppression_reason(
        customer,
        message.channel,
        is_marketing=message.is_marketing,
        cap_exempt=True,
        now=now,
        check_cap=False,
    )
    if reason and reason != SuppressReason.NO_CHANNEL:
        _finish(message.pk, status=MessageStatus.SUPPRESSED, reason=reason)
        if reason in FALLBACK_REASONS:
            enqueue_fallback(message, now=now)
        return "suppressed"
    later = postpone(
        now, message.quiet_start, message.quiet_end, ZoneInfo(customer.organisation.time_zone)
    )
    if later > now:
        _finish(
            message.pk,
            status=MessageStatus.QUEUED,
            next_attempt_at=later,
            attempts=F("attempts") - 1,
        )
        return "postponed"
    return None


def _send_wecom(message: Message, customer: Customer, now: datetime) -> str:
    """A 群发 task of this message and the due ones sharing its text and sender (wecom.channel)."""
    sender = senders.sender_for(Channel.WECOM)
    if sender is None:  # the WeCom app is not installed: nobody has an address on it
        _finish(message.pk, status=MessageStatus.SUPPRESSED, reason=SuppressReason.NO_ADDRESS)
        return "suppressed"

    def failed(m: Message, error: Exception, at: datetime, transient: bool) -> str:
        kind = TransientSendError if transient else PermanentSendError
        return _failed_attempt(m, kind(str(error)[:200], provider="wecom"), at, transient=transient)

    return sender.send(
        message, customer, now, claim=claim, finish=_finish, admit=_hold, failed=failed
    )


def _send_task(message: Message, customer: Customer, now: datetime) -> str:
    title = message.subject or (message.template.name if message.template else "")
    with transaction.atomic():
        task_id = create_staff_task(
            customer,
            title=title or "Follow-up",
            script=message.body,
            due_at=now + timedelta(hours=24),
        )
        # The task and the "sent" mark commit together: a retry can never make a second task.
        if not _finish(
            message.pk,
            status=MessageStatus.SENT,
            provider="task",
            provider_message_id=str(task_id),
            task_id=task_id,
            sent_at=now,
            cost=Decimal("0"),
        ):
            raise RuntimeError("lost the claim on a task message")
    return "sent"


def _failed_attempt(message: Message, error: SendError, now: datetime, *, transient: bool) -> str:
    rules = ensure_settings(message.organisation_id)
    attempts = message.attempts  # read after the claim, so it counts this attempt
    if transient and attempts < rules.max_attempts:
        _finish(
            message.pk,
            status=MessageStatus.QUEUED,
            next_attempt_at=now + backoff(attempts, rules.retry_after_seconds),
            error=str(error)[:300],
        )
        return "retry"
    _finish(message.pk, status=MessageStatus.FAILED, error=str(error)[:300])
    enqueue_fallback(message, now=now)
    return "failed"
