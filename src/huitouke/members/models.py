"""The member centre: join QR codes, members, their sessions, SMS codes and consent history.

A member is a customer who joined from a QR code (or was linked to one by her phone). Members
sign in with phone + SMS code; their session is a random key in its own cookie, never a staff
login (see middleware.py for the other direction).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Source


def new_token() -> str:
    return secrets.token_urlsafe(12)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class JoinCode(models.Model):
    """A join QR code of a store, or of one staff member (who becomes the joiner's owner)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="join_codes"
    )
    store = models.ForeignKey("accounts.Store", on_delete=models.CASCADE, related_name="join_codes")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="join_codes",
        verbose_name=_("staff member"),
    )
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    label = models.CharField(
        _("source tag"),
        max_length=30,
        help_text=_("Tag given to customers who join with this code, e.g. 门店海报."),
    )
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.WALK_IN
    )
    # Keys of the organisation's archive fields the join page asks for (all optional).
    fields = models.JSONField(_("archive fields to ask"), default=list, blank=True)
    scans = models.PositiveIntegerField(_("scans"), default=0)
    codes_sent = models.PositiveIntegerField(_("codes sent"), default=0)
    joins = models.PositiveIntegerField(_("joins"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("join QR code")
        verbose_name_plural = _("join QR codes")
        ordering = ["store_id", "staff_id", "id"]

    def __str__(self) -> str:
        return f"{self.store} · {self.staff or ''} · {self.label}"


class Member(models.Model):
    """A customer who joined the member centre (one per customer)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="member"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    join_code = models.ForeignKey(
        JoinCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    linked_existing = models.BooleanField(default=False)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        indexes = [models.Index(fields=["organisation", "-joined_at"], name="member_org_joined")]

    def __str__(self) -> str:
        return f"member {self.customer_id}"


class MemberSession(models.Model):
    """A member's sign-in on one device; the cookie holds the raw key, the table its SHA-256."""

    key_hash = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="member_sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="member_session_expiry")]

    def __str__(self) -> str:
        return f"session of {self.customer_id}"


class SmsCode(models.Model):
    """One verification code sent to a phone: stored hashed, valid a few minutes, few attempts."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    store = models.ForeignKey(
        "accounts.Store", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    join_code = models.ForeignKey(
        JoinCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="sms_codes"
    )
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    # Only when the shop has no SMS channel: the code, encrypted, for staff to read it out.
    shown_to_staff = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    superseded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="sms_code_phone"),
            models.Index(fields=["ip", "-created_at"], name="sms_code_ip"),
        ]

    def __str__(self) -> str:
        return f"code for {self.phone} at {self.created_at:%H:%M}"


class SmsThrottle(models.Model):
    """One row per phone and per IP, locked while counting and writing codes (PostgreSQL)."""

    key = models.CharField(max_length=80, unique=True)

    def __str__(self) -> str:
        return self.key


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class ConsentEvent(models.Model):
    """What she agreed to or withdrew, when and where (PIPL arts. 14, 15)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="consent_events"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("agreed"))
    # "join" and "member_page" (the member centre, her own answer), "form" (staff on her
    # profile), "api", "import" (a consent column of an imported file).
    source = models.CharField(_("where"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Staff who recorded her answer; empty when she gave it herself.",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="consent_event_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.granted}"
