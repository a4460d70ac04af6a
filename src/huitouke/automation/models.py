"""Automation rules (trigger → conditions → delay → actions, with controls) and their enrolments."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts.scoping import Scope

SCOPE_ROLES = [
    ("owner", _("the whole organisation")),
    ("manager", _("the author's store")),
    ("staff", _("the author's own customers")),
]


class Trigger(models.TextChoices):
    CUSTOMER_CREATED = "customer_created", _("Customer created")
    CUSTOMER_JOINED = "customer_joined", _("Customer joined as a member (QR code)")
    ORDER_PAID = "order_paid", _("Order paid")
    ORDER_REFUNDED = "order_refunded", _("Order refunded")
    TIER_CHANGED = "tier_changed", _("Tier changed")
    NEAR_NEXT_TIER = "near_next_tier", _("Close to the next tier")
    BIRTHDAY = "birthday", _("Birthday (solar or lunar)")
    CHILD_BIRTHDAY = "child_birthday", _("Child's birthday")
    FESTIVAL = "festival", _("Festival")
    DAYS_SINCE_LAST_ORDER = "days_since_last_order", _("N days since the last order")
    REPURCHASE_DUE = "repurchase_due", _("Due to buy a category again")
    FIRST_ORDER_ANNIVERSARY = "first_order_anniversary", _("First-order anniversary")
    SEGMENT_CHANGED = "segment_changed", _("Lifecycle or RFM segment changed")
    PHASE_ENTERED = "phase_entered", _("A purchase entered a phase of its category")
    MANUAL = "manual", _("Campaign (send once to a segment)")


# Triggers fired by an event inside the event's own transaction; the others are evaluated by
# the scheduler once per local day (MANUAL: once, at its send time).
EVENT_TRIGGERS = frozenset(
    {
        Trigger.CUSTOMER_CREATED,
        Trigger.CUSTOMER_JOINED,
        Trigger.ORDER_PAID,
        Trigger.ORDER_REFUNDED,
        Trigger.TIER_CHANGED,
    }
)


class RuleQuerySet(models.QuerySet["AutomationRule"]):
    def active(self) -> RuleQuerySet:
        """Rules switched on (their dates are checked per day by the engine)."""
        return self.filter(is_active=True)


class AutomationRule(models.Model):
    """When `trigger` happens to a customer matching the conditions, wait `delay`, then act.

    `params` holds the trigger's settings (days before a birthday, festivals, N days, category,
    tier gap, which segment field changed to what, a campaign's send time). `actions` is a list
    of {"type": ...} objects, see automation.rule_actions.ACTION_TYPES.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="automation_rules"
    )
    name = models.CharField(_("name"), max_length=100)
    template_code = models.CharField(_("made from template"), max_length=40, blank=True)
    trigger = models.CharField(_("trigger"), max_length=30, choices=Trigger.choices)
    params = models.JSONField(_("trigger settings"), default=dict, blank=True)
    segment = models.ForeignKey(
        "segments.Segment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="automation_rules",
        verbose_name=_("only customers in segment"),
    )
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    delay_minutes = models.PositiveIntegerField(
        _("delay (minutes)"), default=0, validators=[MaxValueValidator(60 * 24 * 365)]
    )
    actions = models.JSONField(_("actions"), default=list, blank=True)
    quiet_start = models.TimeField(_("quiet hours from"), default=time(21), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), default=time(9), null=True, blank=True)
    cap_exempt = models.BooleanField(
        _("care message: exempt from the frequency cap"), default=False
    )
    holdout_share = models.DecimalField(
        _("holdout share"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.5"))],
        help_text=_("Share of customers who get nothing, to measure what the rule achieves."),
    )
    active_from = models.DateField(_("active from"), null=True, blank=True)
    active_until = models.DateField(_("active until"), null=True, blank=True)
    is_marketing = models.BooleanField(_("marketing"), default=True)
    is_active = models.BooleanField(_("on"), default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Whose customers the rule reaches: its author's scope when it was made (an owner's rule the
    # organisation, a manager's her store and the customers she owns), kept when she leaves.
    scope_role = models.CharField(
        _("reaches"), max_length=10, choices=SCOPE_ROLES, default="owner", editable=False
    )
    scope_store = models.ForeignKey(
        "accounts.Store",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    scope_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="automation_rule_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=Decimal("0.5")),
                name="automation_holdout_share_range",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "trigger", "is_active"], name="rule_org_trigger")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def quiet_hours(self) -> tuple[time, time] | None:
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return (self.quiet_start, self.quiet_end)

    @property
    def is_campaign(self) -> bool:
        return self.trigger == Trigger.MANUAL

    @property
    def scope(self) -> Scope:
        """The stored reach, in the form `compile_segment` and `customer_q` take."""
        return Scope(self.organisation_id, self.scope_role, self.scope_store_id, self.scope_user_id)

    def set_scope(self, author: Any) -> None:
        """Give the rule its author's reach (staff cannot make rules; treated as their own)."""
        scope = Scope.of(author)
        self.scope_role = scope.role
        self.scope_store_id = scope.store_id if scope.role != "owner" else None
        self.scope_user_id = scope.pk

    @property
    def scope_label(self) -> str:
        if self.scope_role == "owner":
            return str(_("the whole organisation"))
        if self.scope_role == "manager" and self.scope_store_id:
            return str(_("store %(store)s and its manager's own customers")) % {
                "store": self.scope_store.name if self.scope_store else self.scope_store_id
            }
        return str(_("the author's own customers"))


class EnrolmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    HOLDOUT = "holdout", _("Holdout (not contacted)")
    SUPPRESSED = "suppressed", _("Suppressed")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class EnrolmentReason(models.TextChoices):
    CONDITIONS = "conditions", _("No longer matches the conditions")
    RULE_OFF = "rule_off", _("Rule switched off or outside its dates")
    MERGED = "merged", _("Customer merged into another")
    OPTED_OUT = "opted_out", _("Opted out")
    NO_CONSENT = "no_consent", _("No marketing consent")
    NO_ADDRESS = "no_address", _("No phone or email")
    NO_CHANNEL = "no_channel", _("Channel not set up")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
    ERROR = "error", _("Error")


class Enrolment(models.Model):
    """A customer entering a rule for one occurrence (e.g. "birthday:2026"): acted on exactly once."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="enrolments")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="enrolments"
    )
    occurrence_key = models.CharField(max_length=80)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EnrolmentStatus.choices,
        default=EnrolmentStatus.SCHEDULED,
    )
    reason = models.CharField(
        _("reason"), max_length=20, choices=EnrolmentReason.choices, blank=True
    )
    detail = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField(pgettext_lazy("scheduled", "due"))
    created_at = models.DateTimeField(default=timezone.now)
    acted_at = models.DateTimeField(_("acted"), null=True, blank=True)
    event_order = models.ForeignKey(
        "sales.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    coupon = models.ForeignKey(
        "loyalty.Coupon", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-due_at", "-id"]
        constraints = [
            # The exactly-once guarantee: however often or wherever the scheduler runs, one
            # occurrence enrols a customer in a rule once (inserts ignore the conflict).
            models.UniqueConstraint(
                fields=["rule", "customer", "occurrence_key"], name="enrolment_once_per_occurrence"
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="enrolment_due"),
            models.Index(fields=["rule", "status"], name="enrolment_rule_status"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.customer_id}:{self.occurrence_key}"


class RuleRun(models.Model):
    """The scheduler evaluated a time trigger for one local day; a second pass that day does nothing."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    day = models.DateField()
    enrolled = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["rule", "day"], name="rule_run_once_a_day")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.day}: {self.enrolled}"


class SegmentState(models.Model):
    """The lifecycle and RFM segment last seen for a customer, and the day each last changed.

    The daily pass compares the analytics rows with this; only changed customers are touched.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    lifecycle = models.CharField(max_length=10, blank=True)
    lifecycle_from = models.CharField(max_length=10, blank=True)
    lifecycle_since = models.DateField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=30, blank=True)
    rfm_segment_from = models.CharField(max_length=30, blank=True)
    rfm_segment_since = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "lifecycle_since"], name="segstate_lifecycle"),
            models.Index(fields=["organisation", "rfm_segment_since"], name="segstate_rfm"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.lifecycle} {self.rfm_segment}"


class StateSync(models.Model):
    """The daily comparison of analytics with SegmentState ran for an organisation on a day."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    changed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="state_sync_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"
