"""Webhooks: events written to an outbox in the event's own transaction, sent after commit.

`emit()` runs inside the action's transaction and adds one WebhookDelivery per subscribed,
active endpoint, so a rolled-back write sends nothing. After commit a Huey job sends due
deliveries, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature);
failures retry with growing back-off (RETRY_AFTER), and an endpoint failing
WEBHOOK_DISABLE_AFTER times in a row is switched off and its owners are told. Payloads carry
ids and amounts, never names or phone numbers: the receiver asks the API for more if it may.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from standardwebhooks import Webhook

from huitouke.accounts import secret_box
from huitouke.accounts.models import Role, User
from huitouke.audit.actions import record_audit
from huitouke.core.tasks import enqueue_on_commit
from huitouke.integrations import ssrf
from huitouke.integrations.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)
# Waits before the 2nd, 3rd, … attempt; after the last one the delivery is given up (~21 h).
RETRY_AFTER = [
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
]
# A delivery claimed this long ago by a worker that never finished is sent again.
STALE_CLAIM = timedelta(minutes=5)
TIMEOUT_SECONDS = 10


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean_events(events: list[str]) -> list[str]:
    known = set(WebhookEvent.values)
    return [e for e in dict.fromkeys(events) if e in known]


def do_create_endpoint(
    *,
    organisation: Any,
    url: str,
    events: list[str],
    description: str = "",
    actor: Any,
    request: Any = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (shown once, stored encrypted)."""
    ssrf.check_url(url)
    raw = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation,
            url=url,
            description=description[:200],
            events=_clean_events(events),
            secret=secret_box.encrypt(raw),
        )
        record_audit(
            actor=actor,
            organisation=organisation,
            action="webhook_create",
            target=endpoint,
            request=request,
            detail={"url": url, "events": endpoint.events},
        )
    return endpoint, raw


def do_update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    events: list[str],
    is_active: bool,
    actor: Any,
    request: Any = None,
) -> WebhookEndpoint:
    """Change the events, or switch the endpoint on (its failure count starts again) or off."""
    with transaction.atomic():
        endpoint.events = _clean_events(events)
        if is_active and not endpoint.is_active:
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = ""
        endpoint.is_active = is_active
        endpoint.save()
        record_audit(
            actor=actor,
            organisation=endpoint.organisation,
            action="webhook_edit",
            target=endpoint,
            request=request,
            detail={"events": endpoint.events, "active": is_active},
        )
    return endpoint


def do_delete_endpoint(endpoint: WebhookEndpoint, *, actor: Any, request: Any = None) -> None:
    """Remove an endpoint and its delivery log."""
    with transaction.atomic():
        record_audit(
            actor=actor,
            organisation=endpoint.organisation,
            action="webhook_delete",
            target=endpoint,
            request=request,
            detail={"url": endpoint.url},
        )
        endpoint.delete()


def do_replay_delivery(delivery: WebhookDelivery, *, actor: Any, request: Any = None) -> None:
    """Send a delivery again (from the log), with the same webhook-id so receivers can dedupe."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        record_audit(
            actor=actor,
            organisation=delivery.endpoint.organisation,
            action="webhook_replay",
            target=delivery.endpoint,
            request=request,
            detail={"delivery": delivery.pk, "event": delivery.event},
        )
        enqueue_on_commit("huitouke.integrations.tasks.send_webhooks_now")


def emit(organisation_id: int | None, event: str, data: dict[str, Any]) -> int:
    """Queue `event` for the organisation's endpoints that want it (call inside the write)."""
    return emit_many(organisation_id, event, [data])


def emit_many(organisation_id: int | None, event: str, items: list[dict[str, Any]]) -> int:
    """Queue one `event` per item of data (a bulk write's rows) with one look-up of endpoints."""
    if organisation_id is None or not items:
        return 0
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organisation_id=organisation_id, is_active=True)
        if event in e.events
    ]
    if not endpoints:
        return 0
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                message_id="msg_" + secrets.token_hex(12),
                payload={"type": event, "timestamp": now.isoformat(), "data": data},
                next_attempt_at=now,
            )
            for data in items
            for endpoint in endpoints
        ],
        batch_size=500,
    )
    enqueue_on_commit("huitouke.integrations.tasks.send_webhooks_now")
    return len(endpoints) * len(items)


def signed_request(delivery: WebhookDelivery, secret: str) -> urllib.request.Request:
    """The POST of one delivery, with the Standard Webhooks headers."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    sent_at = timezone.now()
    signature = Webhook(secret).sign(delivery.message_id, sent_at, body)
    return urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Huitouke-Webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        },
    )


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    try:
        secret = secret_box.decrypt(delivery.endpoint.secret)
        with ssrf.opener().open(
            signed_request(delivery, secret), timeout=TIMEOUT_SECONDS
        ) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError, secret_box.SecretError) as exc:
        return None, str(exc)[:300] or type(exc).__name__


def send_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send deliveries that are due; each is claimed first, so several workers may run this."""
    now = now or timezone.now()
    # A switched-off endpoint's deliveries wait: switching it on again resumes them.
    due = (
        WebhookDelivery.objects.filter(endpoint__is_active=True)
        .filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "status", "claimed_at")[:limit]
    )
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for pk, status, claimed_at in list(due):
        if not WebhookDelivery.objects.filter(pk=pk, status=status, claimed_at=claimed_at).update(
            status=DeliveryStatus.SENDING, claimed_at=now
        ):
            continue  # another worker has it
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
        code, error = _post(delivery)
        counts[_record_result(delivery, code, error, now)] += 1
    return counts


def _record_result(delivery: WebhookDelivery, code: int | None, error: str, now: datetime) -> str:
    attempts = delivery.attempts + 1
    endpoint = delivery.endpoint
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED,
            attempts=attempts,
            last_status_code=code,
            last_error="",
            delivered_at=timezone.now(),
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "delivered"
    gave_up = attempts > len(RETRY_AFTER)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts,
        last_status_code=code,
        last_error=error[:300],
        next_attempt_at=now + (RETRY_AFTER[attempts - 1] if not gave_up else timedelta(0)),
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    endpoint.refresh_from_db(fields=["consecutive_failures", "is_active"])
    if endpoint.is_active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
        _disable(endpoint, error)
    return "failed" if gave_up else "retry"


def _disable(endpoint: WebhookEndpoint, error: str) -> None:
    """Switch off an endpoint that keeps failing, once, and tell the organisation's owners."""
    reason = f"{endpoint.consecutive_failures} failures in a row; last: {error}"[:200]
    with transaction.atomic():
        if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_reason=reason
        ):
            return
        record_audit(
            actor=None,
            organisation=endpoint.organisation,
            action="webhook_disabled",
            target=endpoint,
            detail={"reason": reason},
        )
    owners = User.objects.filter(
        organisation_id=endpoint.organisation_id, role=Role.OWNER, is_active=True
    ).exclude(email="")
    for owner in owners:
        with override(settings.LANGUAGE_CODE):
            send_mail(
                _("Webhook switched off: %(url)s") % {"url": endpoint.url[:80]},
                _(
                    "Huitouke stopped sending events to %(url)s after %(n)s failed attempts in a "
                    "row (last error: %(error)s). Fix the receiver, then switch the endpoint on "
                    "again under Settings → Webhooks; failed deliveries can be replayed there."
                )
                % {"url": endpoint.url, "n": endpoint.consecutive_failures, "error": error},
                None,
                [owner.email],
                fail_silently=True,
            )
