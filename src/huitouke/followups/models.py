"""Follow-up tasks for staff (call, WeChat, visit, gift, card) and the SOP rules that create them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts import scoping
from huitouke.analytics.models import RfmSegment
from huitouke.sales.phases import Phase


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")
    GIFT = "gift", _("Gift")
    CARD = "card", _("Handwritten card")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class Trigger(models.TextChoices):
    ORDER_PAID_OVER = "order_paid_over", _("Order paid at or above an amount")
    CUSTOMER_CREATED = "customer_created", pgettext_lazy("trigger", "New customer")
    DAYS_AFTER_FIRST_ORDER = "days_after_first_order", _("Window of days after the first order")
    VIP_BIRTHDAY = "vip_birthday", _("VIP birthday")
    RFM_SEGMENT_ENTERED = "rfm_segment_entered", _("Entered an RFM segment")
    SEGMENT_ENTERED = "segment_entered", _("Entered a saved segment")
    DAYS_AFTER_EVENT = "days_after_event", _("N days after an event")
    PHASE_ENTERED = "phase_entered", _("A purchase entered a phase of its category")


class Event(models.TextChoices):
    FIRST_ORDER = "first_order", _("First order")
    LAST_ORDER = "last_order", _("Last order")
    CREATED = "created", _("Customer created")


class AssignTo(models.TextChoices):
    CUSTOMER_OWNER = "customer_owner", _("The customer's owner")
    STORE_MANAGER = "store_manager", _("The manager of her store")
    ORG_OWNER = "org_owner", _("The owner (boss)")


class SopRule(models.Model):
    """A standard operating procedure: when something happens to a customer, someone does something.

    Built-in rules carry a `code` (see defaults.py) and cannot be deleted, only switched off.
    Which fields matter depends on the trigger: `threshold` (order amount, or the 12-month spend
    that makes a VIP), `days` (days before a birthday, or N days after an event), the window
    [`window_start_days`, `window_end_days`) after the first order, `rfm_segment`, `segment`,
    `event`, and the `phase` of a `category` a purchase enters (sales.phases).
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="sop_rules"
    )
    code = models.CharField(max_length=30, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("trigger"), max_length=30, choices=Trigger.choices)
    threshold = models.DecimalField(
        _("amount (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    days = models.PositiveIntegerField(pgettext_lazy("field", "days"), null=True, blank=True)
    window_start_days = models.PositiveIntegerField(_("from day"), null=True, blank=True)
    window_end_days = models.PositiveIntegerField(_("until day"), null=True, blank=True)
    event = models.CharField(_("event"), max_length=20, choices=Event.choices, blank=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=30, blank=True)
    segment = models.ForeignKey(
        "segments.Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sop_rules",
        verbose_name=_("segment"),
    )
    category = models.ForeignKey(
        "sales.Category",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
    )
    phase = models.CharField(
        pgettext_lazy("product phase", "phase"), max_length=10, choices=Phase.choices, blank=True
    )
    delay_hours = models.PositiveIntegerField(_("due within (hours)"), default=24)
    kind = models.CharField(
        _("kind"), max_length=10, choices=TaskKind.choices, default=TaskKind.CALL
    )
    script_template = models.TextField(_("script"), blank=True)
    assign_to = models.CharField(
        _("assign to"),
        max_length=20,
        choices=AssignTo.choices,
        default=AssignTo.CUSTOMER_OWNER,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SOP rule")
        verbose_name_plural = _("SOP rules")
        ordering = ["id"]
        constraints = [
            # Built-ins are created on first run by every worker at once: the constraint makes
            # the concurrent inserts collapse into one row per code.
            models.UniqueConstraint(
                fields=["organisation", "code"],
                condition=~Q(code=""),
                name="sop_rule_code_unique_per_org",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_built_in(self) -> bool:
        return bool(self.code)

    def describe(self) -> str:
        """The trigger in words: "Order of ¥1000 or more", "Days 0–5 after the first order"."""

        amount = f"{self.threshold or 0:.2f}".rstrip("0").rstrip(".")
        t = self.trigger
        if t == Trigger.ORDER_PAID_OVER:
            return str(_("Order of ¥%(amount)s or more") % {"amount": amount})
        if t == Trigger.DAYS_AFTER_FIRST_ORDER:
            return str(
                _("Days %(start)s–%(end)s after the first order")
                % {"start": self.window_start_days, "end": self.window_end_days}
            )
        if t == Trigger.VIP_BIRTHDAY:
            return str(
                _("%(days)s days before the birthday of a customer spending ¥%(amount)s+ a year")
                % {"days": self.days, "amount": amount}
            )
        if t == Trigger.RFM_SEGMENT_ENTERED:
            label = dict(RfmSegment.choices).get(self.rfm_segment, self.rfm_segment)
            return str(_("Entered “%(segment)s”") % {"segment": label})
        if t == Trigger.SEGMENT_ENTERED:
            name = self.segment.name if self.segment else "—"
            return str(_("Entered the segment “%(segment)s”") % {"segment": name})
        if t == Trigger.DAYS_AFTER_EVENT:
            event = dict(Event.choices).get(self.event, self.event)
            return str(_("%(days)s days after: %(event)s") % {"days": self.days, "event": event})
        if t == Trigger.PHASE_ENTERED:
            return str(
                _("A purchase of “%(category)s” entered: %(phase)s")
                % {
                    "category": self.category.name if self.category else "—",
                    "phase": dict(Phase.choices).get(self.phase, "—"),
                }
            )
        return str(Trigger(t).label) if t in Trigger.values else t


class SopMembership(models.Model):
    """A customer currently inside a rule's segment; entering again after leaving is a new occurrence."""

    rule = models.ForeignKey(SopRule, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "customer"], name="sop_membership_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.customer_id}"


class TaskQuerySet(models.QuerySet["FollowUpTask"]):
    def visible_to(self, user: Any) -> TaskQuerySet:
        """Tasks `user` may see (see accounts.scoping.task_q)."""
        return self.filter(scoping.task_q(user))

    def open(self) -> TaskQuerySet:
        """Tasks still to be done."""
        return self.filter(status=TaskStatus.OPEN)


class FollowUpTask(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="followup_tasks",
        verbose_name=_("customer"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followup_tasks",
        verbose_name=_("assigned to"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=100)
    due_at = models.DateTimeField(_("due"))
    script = models.TextField(_("script"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    skip_reason = models.CharField(_("reason for skipping"), max_length=200, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    interaction = models.OneToOneField(
        "customers.Interaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followup_task",
    )
    rule = models.ForeignKey(
        SopRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    occurrence_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_at", "id"]
        constraints = [
            # A rule acts once per occurrence: the SOP engine inserts with ignore_conflicts and
            # relies on this index, so two workers running at once still create one task.
            models.UniqueConstraint(
                fields=["rule", "customer", "occurrence_key"],
                condition=Q(rule__isnull=False),
                name="followup_once_per_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN) | Q(completed_at__isnull=False),
                name="followup_closed_has_time",
            ),
        ]
        indexes = [
            # The inbox: one assignee's open tasks by due time.
            models.Index(fields=["assignee", "status", "due_at"], name="followup_inbox"),
            # The manager's and owner's views, and staff results over a period.
            models.Index(fields=["organisation", "status", "due_at"], name="followup_org_due"),
            models.Index(fields=["customer", "status"], name="followup_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.title} · {self.customer_id}"

    def is_overdue(self, now: Any = None) -> bool:
        return self.status == TaskStatus.OPEN and self.due_at < (now or timezone.now())

    @property
    def was_on_time(self) -> bool:
        return (
            self.status == TaskStatus.DONE
            and self.completed_at is not None
            and self.completed_at <= self.due_at
        )
