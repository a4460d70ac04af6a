"""What other systems rely on: stored answers to idempotent requests and tombstones for feeds."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer to a POST/PATCH sent with an Idempotency-Key, per caller and key, for 24 h.

    The row is inserted (the unique constraint decides who wins) before the handler runs, so
    concurrent retries run the handler once; `status_code` stays null while it runs.
    """

    caller = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(default=timezone.now)
    # A claim whose handler died (a killed process) may be taken over after this time.
    locked_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"


class Tombstone(models.Model):
    """A row that left a change feed: deleted, merged into another, or anonymised."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("customer")
        ORDER = "order", _("order")
        COUPON = "coupon", _("coupon")
        MESSAGE = "message", _("message")

    class Reason(models.TextChoices):
        DELETED = "deleted", _("deleted")
        MERGED = "merged", _("merged")
        ANONYMISED = "anonymised", _("anonymised")

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    replaced_by_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")
        indexes = [
            models.Index(fields=["organisation", "kind", "updated_at", "id"], name="tombstone_feed")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.reason}"


class WebhookEvent(models.TextChoices):
    ORDER_PAID = "order.paid", _("Order paid")
    ORDER_REFUNDED = "order.refunded", _("Order refunded")
    CUSTOMER_CREATED = "customer.created", _("Customer created")
    CUSTOMER_UPDATED = "customer.updated", _("Customer updated")
    CUSTOMER_MERGED = "customer.merged", _("Customers merged")
    POINTS_CHANGED = "points.changed", _("Points changed")
    COUPON_REDEEMED = "coupon.redeemed", _("Coupon used")
    CONSENT_CHANGED = "consent.changed", _("Consent changed")
    TASK_COMPLETED = "task.completed", _("Follow-up task completed")


class WebhookEndpoint(models.Model):
    """A URL of another system that receives the events it subscribed to, signed with its secret."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    # "whsec_<base64>" encrypted with accounts.secret_box.
    secret = models.TextField(editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row (written in the event's transaction) and its log."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    message_id = models.CharField(max_length=40, unique=True)  # the webhook-id header
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"
