"""Organisations (brands), their stores, staff accounts and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Industry(models.TextChoices):
    BEAUTY = "beauty", _("Beauty salon")
    APPAREL = "apparel", _("Apparel boutique")
    COSMETICS = "cosmetics", _("Cosmetics shop")
    PERSONAL_SHOPPER = "personal_shopper", _("Personal shopper")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=100)
    industry = models.CharField(
        _("industry"), max_length=20, choices=Industry.choices, default=Industry.OTHER
    )
    time_zone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")
    silent_after_days = models.PositiveIntegerField(_("silent after (days)"), default=90)
    churned_after_days = models.PositiveIntegerField(_("churned after (days)"), default=180)
    rfm_lookback_days = models.PositiveIntegerField(_("RFM lookback (days)"), default=365)
    rfm_high_low = models.CharField(
        _("RFM high/low rule"),
        max_length=5,
        choices=[("mean", _("Above or below the mean")), ("score", _("Score 3 or more"))],
        default="mean",
    )
    # The owner's first-hour setup (web.onboarding): the step she is on ("" = not started) and
    # when she finished or skipped it.
    onboarding_step = models.CharField(max_length=20, blank=True, default="", editable=False)
    onboarding_done_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    sms_signature = models.CharField(
        _("SMS signature"),
        max_length=20,
        blank=True,
        help_text=_("Shown as 【…】 in text messages."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="store_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", pgettext_lazy("role", "Owner")
    MANAGER = "manager", _("Store manager")
    STAFF = "staff", _("Sales staff")


class User(AbstractUser):
    """A staff account. Owners see the whole organisation, managers their store, staff their customers."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="staff"
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STAFF)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # The language her pages are in: set when she switches, applied when she logs in. One of
    # settings.LANGUAGES (checked by the action, so a new language needs no migration); empty
    # until she first switches, so the language she logged in with (cookie, browser) stays.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenScope(models.TextChoices):
    """What a token may do, within its user's rights (the scope only ever narrows them)."""

    READ = "read", _("Read only")
    POS = "pos", _("Till (orders and points)")
    FULL = "full", _("Full access")


class ApiToken(models.Model):
    """A bearer token for integrations; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, default="API")
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Requests authenticated with it (one UPDATE each, in autocommit: no lock is held for long).
    use_count = models.PositiveBigIntegerField(default=0, editable=False)
    scope = models.CharField(
        _("scope"), max_length=10, choices=TokenScope.choices, default=TokenScope.FULL
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # The day of the last "token_used" audit entry: use is audited once a day, not per request.
    last_audited_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def new_raw_key(cls) -> str:
        return "htk_" + secrets.token_urlsafe(32)

    def is_usable(self, now: Any = None) -> bool:
        """Neither revoked nor expired."""
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
