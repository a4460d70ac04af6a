"""Messaging: channel settings, message templates, the outbox and opt-outs."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts import secret_box
from huitouke.core.touch import TouchingQuerySet

ZERO = Decimal("0")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    TASK = "task", _("Staff task (call / WeChat)")
    WECOM = "wecom", _("WeCom group message (群发)")


class Provider(models.TextChoices):
    SMTP = "smtp", _("SMTP server")
    ALIYUN = "aliyun", _("Aliyun SMS")
    TENCENT = "tencent", _("Tencent Cloud SMS")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent")


class SuppressReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("Opted out")
    NO_CONSENT = "no_consent", _("No marketing consent")
    NO_ADDRESS = "no_address", _("No phone or email")
    NO_CHANNEL = "no_channel", _("Channel not set up")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
    MERGED = "merged", _("Customer merged into another")


class OptOutChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    ALL = "all", _("Every channel")


class OptOutSource(models.TextChoices):
    REPLY = "reply", _("Replied to a message (回T)")
    MANUAL = "manual", _("Entered by staff")
    API = "api", _("API")


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


class MessagingSettings(models.Model):
    """Per organisation: the marketing frequency cap, retries and the provider-callback token."""

    organisation = models.OneToOneField(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="messaging_settings",
    )
    cap_messages = models.PositiveSmallIntegerField(
        _("marketing messages per customer"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    cap_days = models.PositiveSmallIntegerField(
        _("within (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts before a message fails"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    retry_after_seconds = models.PositiveIntegerField(
        _("first retry after (seconds)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(86400)],
        help_text=_("Each further retry waits twice as long."),
    )
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token)

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")

    def __str__(self) -> str:
        return f"messaging settings of {self.organisation_id}"


# Provider settings that are credentials: stored encrypted (accounts.secret_box), never shown.
SECRET_SETTINGS = ("access_key_secret", "secret_key", "password")


def seal_settings(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with every credential encrypted (already encrypted ones kept as they are)."""
    return {
        k: secret_box.encrypt(v)
        if k in SECRET_SETTINGS and isinstance(v, str) and not secret_box.is_encrypted(v)
        else v
        for k, v in values.items()
    }


class ChannelConfig(models.Model):
    """How an organisation sends on one channel: the provider, its credentials and the unit cost."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="channel_configs"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    # Provider fields (host, port, from_address / access_key_id, access_key_secret, endpoint,
    # region, sms_sdk_app_id ...); see outbox.transport_for.
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    unit_cost = models.DecimalField(
        _("cost per message (yuan)"),
        max_digits=8,
        decimal_places=4,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "channel"], name="channel_config_once_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} ({self.get_provider_display()})"

    def plain_settings(self) -> dict[str, Any]:
        """The settings with credentials decrypted, for the transport only."""
        return {
            k: secret_box.decrypt(v) if k in SECRET_SETTINGS and isinstance(v, str) else v
            for k, v in (self.settings or {}).items()
        }


class MessageTemplate(models.Model):
    """A message text with {{ variables }}; SMS templates also name the provider's approved template."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="message_templates"
    )
    code = models.CharField(max_length=40, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("subject (email)"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    provider_template_code = models.CharField(
        _("approved SMS template code"),
        max_length=50,
        blank=True,
        help_text=_("The template code (Aliyun) or id (Tencent) the provider approved."),
    )
    sms_params = models.JSONField(
        _("SMS template parameters"),
        default=list,
        blank=True,
        help_text=_("Variable names in the order of the approved template's placeholders."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="message_template_name_unique"
            ),
            models.UniqueConstraint(
                fields=["organisation", "code"],
                condition=~Q(code=""),
                name="message_template_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MessageQuerySet(TouchingQuerySet["Message"]):
    def counting_toward_cap(self) -> MessageQuerySet:
        """Marketing messages under the frequency cap that were (or will be) sent."""
        return self.filter(
            counts_toward_cap=True,
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT],
        )


class Message(models.Model):
    """One message in the outbox: rendered once, sent at most once per idempotency key."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient = models.CharField(pgettext_lazy("recipient", "to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    provider_template_code = models.CharField(max_length=50, blank=True)
    template_params = models.JSONField(default=dict, blank=True)
    sms_signature = models.CharField(max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    reason = models.CharField(
        _("reason"), max_length=20, choices=SuppressReason.choices, blank=True
    )
    error = models.CharField(_("error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=10, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=150, unique=True)
    rule = models.ForeignKey(
        "automation.AutomationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    enrolment = models.ForeignKey(
        "automation.Enrolment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    is_marketing = models.BooleanField(default=False)
    counts_toward_cap = models.BooleanField(default=False)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    fallback_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    fallback_template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fallback_of = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="fallback"
    )
    variables = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=8, decimal_places=4, default=ZERO)
    task_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # For the change feed (integrations): set on save and by every queryset update().
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's scan: queued messages by their next attempt time.
            models.Index(fields=["status", "next_attempt_at"], name="message_outbox_due"),
            # The frequency cap and the customer's timeline.
            models.Index(fields=["customer", "-created_at"], name="message_customer_time"),
            models.Index(fields=["rule", "status"], name="message_rule_status"),
            models.Index(fields=["organisation", "status", "-created_at"], name="message_org"),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.customer_id}: {self.status}"


class OptOut(models.Model):
    """A customer asked not to be contacted on a channel (or on any)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="opt_outs"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=OptOutChannel.choices)
    source = models.CharField(_("source"), max_length=10, choices=OptOutSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="opt_out_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} opted out of {self.channel}"
