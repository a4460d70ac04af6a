"""Append-only log of sensitive actions: logins, merges, handovers, phone reveals, exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    MERGE = "merge", _("Merged customers")
    HANDOVER = "handover", _("Handed over customers")
    OWNER_CHANGE = "owner_change", _("Changed a customer's owner")
    PHONE_REVEAL = "phone_reveal", _("Revealed a phone number")
    EXPORT = "export", _("Exported data")
    IMPORT = "import", _("Imported data")
    TOKEN_CREATED = "token_created", _("Created an API token")
    CUSTOMER_DELETED = "customer_deleted", _("Deleted a customer")
    REFUND = "refund", _("Refunded an order")
    SETTINGS = "settings", _("Changed settings")


class AuditEntry(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=50, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "-at"], name="audit_org_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"
