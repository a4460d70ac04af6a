"""WeCom (企业微信客户联系): the connection, members, external contacts, callbacks, transfers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts import secret_box


class WeComConnection(models.Model):
    """One corp per organisation. Every credential is stored encrypted (secret_box), never shown."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="wecom"
    )
    corp_id_enc = models.TextField(blank=True)
    secret_enc = models.TextField(blank=True)
    token_enc = models.TextField(blank=True)
    aes_key_enc = models.TextField(blank=True)
    # The cached access token (a credential too) and when WeCom says it expires.
    access_token_enc = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_error = models.CharField(max_length=200, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_counts = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("WeCom connection")

    def __str__(self) -> str:
        return f"WeCom of {self.organisation_id}"

    @property
    def corp_id(self) -> str:
        return secret_box.decrypt(self.corp_id_enc)

    @property
    def secret(self) -> str:
        return secret_box.decrypt(self.secret_enc)

    @property
    def token(self) -> str:
        return secret_box.decrypt(self.token_enc)

    @property
    def aes_key(self) -> str:
        return secret_box.decrypt(self.aes_key_enc)

    @property
    def is_complete(self) -> bool:
        return bool(self.corp_id_enc and self.secret_enc)


class MatchedBy(models.TextChoices):
    HAND = "hand", _("Set by hand")
    MOBILE = "mobile", _("Matched by mobile")


class WeComMember(models.Model):
    """A WeCom member with customer contact (a follow user), linked to a staff account."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    userid = models.CharField(max_length=64)
    name = models.CharField(max_length=64, blank=True)
    mobile = models.CharField(max_length=20, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="wecom_members",
    )
    matched_by = models.CharField(max_length=10, choices=MatchedBy.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "userid"], name="wecom_member_unique"),
            models.UniqueConstraint(
                fields=["organisation", "staff"],
                condition=models.Q(staff__isnull=False),
                name="wecom_member_staff_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.userid


class WeComContact(models.Model):
    """An external contact (a customer's WeChat), linked to one Huitouke customer."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    external_userid = models.CharField(max_length=64)
    unionid = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=100, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="wecom_contacts"
    )
    # The follow user who added her first: her owner unless a handover moved her.
    first_userid = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_userid"], name="wecom_contact_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "unionid"], name="wecom_contact_union")]

    def __str__(self) -> str:
        return self.name or self.external_userid


class FollowState(models.TextChoices):
    ACTIVE = "active", _("Friends")
    SHE_DELETED = "she_deleted", _("She deleted the staff member")
    STAFF_DELETED = "staff_deleted", _("The staff member deleted her")


class WeComFollow(models.Model):
    """One member's side of an external contact: remark, description, mobiles, tags, add time."""

    contact = models.ForeignKey(WeComContact, on_delete=models.CASCADE, related_name="follows")
    userid = models.CharField(max_length=64)
    remark = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    remark_mobiles = models.JSONField(default=list, blank=True)
    tag_ids = models.JSONField(default=list, blank=True)
    added_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=15, choices=FollowState.choices, default=FollowState.ACTIVE)
    # Time of the newest event applied: an older event arriving late changes nothing.
    event_time = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "userid"], name="wecom_follow_unique")
        ]

    def __str__(self) -> str:
        return f"{self.userid} ↔ {self.contact_id}"


class WeComCorpTag(models.Model):
    """A corp tag (企业标签) and the Huitouke tag it lands on."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    tag_id = models.CharField(max_length=64)
    name = models.CharField(max_length=30)
    group_name = models.CharField(max_length=30, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "tag_id"], name="wecom_tag_unique")
        ]

    def __str__(self) -> str:
        return self.name


class WeComCallback(models.Model):
    """A received callback: nonces are refused twice, an event's content is applied once."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    nonce = models.CharField(max_length=64)
    timestamp = models.BigIntegerField()
    content_hash = models.CharField(max_length=64, blank=True)
    change_type = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "nonce", "timestamp"], name="wecom_callback_nonce"
            ),
            models.UniqueConstraint(
                fields=["organisation", "content_hash"],
                condition=~models.Q(content_hash=""),
                name="wecom_callback_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change_type} {self.received_at:%Y-%m-%d %H:%M}"


class TransferKind(models.TextChoices):
    ON_JOB = "on_job", _("Staff still working (在职继承)")
    RESIGNED = "resigned", _("Staff has left (离职继承)")


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Being sent to WeCom")
    WAITING = "waiting", _("Waiting for the customer (24 h)")
    MOVED = "moved", _("Moved")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", pgettext_lazy("transfer", "Not sent")


class WeComTransfer(models.Model):
    """One customer's WeChat moving with a Huitouke handover, and WeCom's answer."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="wecom_transfers"
    )
    external_userid = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=TransferKind.choices)
    from_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    handover_userid = models.CharField(max_length=64)
    takeover_userid = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING
    )
    errcode = models.IntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status"], name="wecom_transfer_status"),
            models.Index(fields=["customer", "-requested_at"], name="wecom_transfer_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.external_userid}: {self.handover_userid} -> {self.takeover_userid}"

    @property
    def reason_display(self) -> str:
        """The reason in the reader's language (stored as a code by the worker)."""
        reasons = {
            "customer_refused": _("The customer refused the new owner."),
            "customer_limit_exceed": _("The new owner has reached WeCom's customer limit."),
            "no_account": _("The new owner has no WeCom account."),
        }
        if not self.reason:
            return ""
        if self.reason in reasons:
            return str(reasons[self.reason])
        code = self.reason.removeprefix("errcode:")
        return _("WeCom did not move the customer (%(code)s).") % {"code": code}


class GroupMessageStatus(models.TextChoices):
    PENDING = "pending", _("Being sent to WeCom")
    WAITING = "waiting", _("Waiting for the staff member to confirm")
    SENT = "sent", _("Sent")
    FAILED = "failed", pgettext_lazy("transfer", "Not sent")


class WeComGroupMessage(models.Model):
    """A WeCom 群发 task (add_msg_template, chat_type single) that one sender confirms in WeCom."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE)
    sender = models.CharField(max_length=64)
    text = models.TextField()
    msgid = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=GroupMessageStatus.choices, default=GroupMessageStatus.PENDING
    )
    error = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.msgid or 'pending'}"


class RecipientStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    NOT_FRIEND = "not_friend", _("Not a WeChat friend any more")
    LIMIT = "limit", _("Already received a WeCom group message")
    FAILED = "failed", pgettext_lazy("transfer", "Not sent")


class WeComGroupRecipient(models.Model):
    message = models.ForeignKey(
        WeComGroupMessage, on_delete=models.CASCADE, related_name="recipients"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="wecom_group_messages"
    )
    external_userid = models.CharField(max_length=64)
    status = models.CharField(
        max_length=12, choices=RecipientStatus.choices, default=RecipientStatus.QUEUED
    )
    # The outbox message this recipient stands for, when the 群发 came from messaging's outbox.
    outbox_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "external_userid"], name="wecom_recipient_unique"
            )
        ]
        indexes = [models.Index(fields=["customer", "-created_at"], name="wecom_recipient_recent")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.external_userid}"
