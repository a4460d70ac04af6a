"""Append-only log of sensitive actions: logins, merges, handovers, phone reveals, exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """Every code the code base writes, with its label (tests/security/test_audit.py checks that a
    code used anywhere is here). The field stores any code: a new one needs no migration."""

    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    MERGE = "merge", _("Merged customers")
    MERGE_VISIT_ORDERS = "merge_visit_orders", _("Merged walk-in orders into a customer")
    HANDOVER = "handover", _("Handed over customers")
    OWNER_CHANGE = "owner_change", _("Changed a customer's owner")
    PHONE_REVEAL = "phone_reveal", _("Revealed a phone number")
    CUSTOMERS_READ = "customers_read", _("Read customers' personal data")
    CUSTOMER_EDIT = "customer_edit", _("Edited a customer")
    CUSTOMER_DELETED = "customer_deleted", _("Deleted a customer")
    CUSTOMER_DATA_EXPORT = "customer_data_export", _("Exported everything held about a customer")
    # The integrations hooks turn this entry into the change feed's "anonymised" tombstone.
    CUSTOMER_ANONYMISED = "customer_anonymised", _("Erased a customer's personal data")
    DATA_REQUEST_SEE = "data_request_see", _("A member asked to see her data")
    DATA_REQUEST_DELETE = "data_request_delete", _("A member asked to delete her data")
    EXPORT = "export", _("Exported data")
    IMPORT = "import", _("Imported data")
    TOKEN_CREATED = "token_created", _("Created an API token")
    TOKEN_REVOKED = "token_revoked", _("Revoked an API token")
    TOKEN_USED = "token_used", _("Used an API token")
    STAFF_CREATE = "staff_create", _("Added a staff member")
    STAFF_EDIT = "staff_edit", _("Edited a staff member")
    STAFF_PASSWORD_RESET = "staff_password_reset", _("Reset a staff member's password")
    PASSWORD_CHANGE = "password_change", _("Changed own password")
    STORE_CREATE = "store_create", _("Added a store")
    STORE_EDIT = "store_edit", _("Edited a store")
    LANGUAGE_CHANGE = "language_change", _("Changed own language")
    CUSTOM_FIELD_CREATE = "custom_field_create", _("Added an archive field")
    CUSTOM_FIELD_EDIT = "custom_field_edit", _("Edited an archive field")
    CUSTOM_FIELD_REMOVE = "custom_field_remove", _("Deactivated an archive field")
    CUSTOM_FIELD_REACTIVATE = "custom_field_reactivate", _("Reactivated an archive field")
    REFUND = "refund", _("Refunded an order")
    CATEGORY_SAVE = "category_save", _("Saved a product category")
    PRODUCT_SAVE = "product_save", _("Saved a product")
    SEGMENT_DELETE = "segment_delete", _("Deleted a segment")
    OWNER_CREATE = "owner_create", _("Created the owner's account")
    ONBOARDING_DONE = "onboarding_done", _("Finished or skipped the first setup")
    FAMILY_MEMBER_ADD = "family_member_add", _("Added a family member")
    SETTINGS = "settings", _("Changed settings")
    LOYALTY_SETTINGS = "loyalty_settings", _("Changed loyalty settings")
    MESSAGING_SETTINGS = "messaging_settings", _("Changed messaging settings")
    CHANNEL_CONFIG = "channel_config", _("Changed a message channel")
    COUPON_TEMPLATE_CREATE = "coupon_template_create", _("Created a coupon")
    COUPON_ISSUE = "coupon_issue", _("Issued coupons")
    COUPON_REDEEM = "coupon_redeem", _("Redeemed a coupon")
    COUPON_VOID = "coupon_void", _("Voided a coupon")
    POINTS_ADJUST = "points_adjust", _("Adjusted points")
    AUTOMATION_CREATE = "automation_create", _("Created an automation")
    AUTOMATION_ON = "automation_on", _("Switched an automation on")
    SOP_RULE_CREATE = "sop_rule_create", _("Created a follow-up rule")
    SOP_RULE_UPDATE = "sop_rule_update", _("Changed a follow-up rule")
    SOP_RULE_DELETE = "sop_rule_delete", _("Deleted a follow-up rule")
    MESSAGE_TEMPLATE_CREATE = "message_template_create", _("Created a message template")
    MESSAGE_RETRY = "message_retry", _("Retried a message")
    CONSENT_GIVEN = "consent_given", _("Consent given")
    OPT_IN = "opt_in", _("Opted in")
    OPT_OUT = "opt_out", _("Opted out")
    JOIN_CODE_CREATE = "join_code_create", _("Created a member join code")
    MEMBER_JOIN = "member_join", _("A customer joined as a member")
    WEBHOOK_CREATE = "webhook_create", _("Added a webhook")
    WEBHOOK_EDIT = "webhook_edit", _("Changed a webhook")
    WEBHOOK_DELETE = "webhook_delete", _("Deleted a webhook")
    WEBHOOK_DISABLED = "webhook_disabled", _("A webhook was switched off")
    WEBHOOK_REPLAY = "webhook_replay", _("Replayed a webhook delivery")


def action_label(code: str) -> str:
    """The code's label in the active language; an unknown code shows as itself."""
    try:
        return str(AuditAction(code).label)
    except ValueError:
        return code


class AuditEntry(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=30)
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

    @property
    def label(self) -> str:
        return action_label(self.action)
