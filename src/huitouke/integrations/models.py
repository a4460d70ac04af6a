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
