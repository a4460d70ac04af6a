"""Materialised analytics: per-customer results and per-organisation reports, written by batch jobs.

Screens, segments and exports read these rows; they never compute analytics on a request.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Lifecycle(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    NEW = "new", _("New")
    ACTIVE = "active", pgettext_lazy("lifecycle", "Active")
    SILENT = "silent", _("Silent")
    CHURNED = "churned", _("Churned")


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions (重要价值客户)")
    PROMISING_BIG = "promising_big_spenders", _("Promising big spenders (重要发展客户)")
    LOYAL_SLIPPING = "loyal_slipping", _("Loyal, slipping (重要保持客户)")
    BIG_AT_RISK = "big_spenders_at_risk", _("Big spenders at risk (重要挽留客户)")
    LOYAL_LOW = "loyal_low_spenders", _("Loyal low spenders (一般价值客户)")
    NEW_PROMISING = "new_promising", _("New / promising (一般发展客户)")
    REGULARS_FADING = "regulars_fading", _("Regulars fading (一般保持客户)")
    LOST = "lost", _("Lost (一般挽留客户)")


class ValueClass(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class CustomerAnalytics(models.Model):
    """One row per customer: lifecycle, RFM, value class, due categories and predicted value."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="analytics"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateField()
    lifecycle = models.CharField(_("lifecycle"), max_length=10, choices=Lifecycle.choices)
    reactivated = models.BooleanField(_("reactivated"), default=False)
    days_since_last = models.IntegerField(_("days since last order"), null=True, blank=True)
    days_since_first = models.IntegerField(null=True, blank=True)
    silent_after = models.PositiveIntegerField(null=True, blank=True)
    churned_after = models.PositiveIntegerField(null=True, blank=True)
    # Where her thresholds came from: "org", or "category" when a category cycle of her last
    # order lengthened them (cycle_days of cycle_category); the customer page explains it.
    threshold_source = models.CharField(max_length=10, blank=True)
    cycle_days = models.PositiveIntegerField(null=True, blank=True)
    cycle_category = models.ForeignKey(
        "sales.Category", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    gap_before_last_days = models.IntegerField(null=True, blank=True)
    recency_days = models.IntegerField(null=True, blank=True)
    frequency = models.IntegerField(null=True, blank=True)
    monetary = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    r_score = models.PositiveSmallIntegerField(null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=30, choices=RfmSegment.choices, blank=True
    )
    value_class = models.CharField(
        _("value class"), max_length=1, choices=ValueClass.choices, blank=True
    )
    due_categories = models.JSONField(default=list, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    expected_orders_90d = models.FloatField(
        _("expected orders, next 90 days"), null=True, blank=True
    )
    p_order_90d = models.FloatField(_("chance of an order, next 90 days"), null=True, blank=True)
    expected_aov = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    predicted_clv = models.DecimalField(
        _("predicted 12-month value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    clv_rank = models.PositiveIntegerField(null=True, blank=True)
    # predicted_clv / p_alive: what she is worth next year if she is still a customer. High
    # here with a low P(alive) is "valuable and fading".
    clv_if_alive = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("customer analytics")
        verbose_name_plural = _("customer analytics")
        indexes = [
            # The dashboard's lifecycle funnel counts from this index alone (analytics_for).
            models.Index(
                fields=["organisation", "lifecycle", "reactivated"], name="ca_org_lifecycle_back"
            ),
            models.Index(fields=["organisation", "rfm_segment"], name="ca_org_rfm"),
            models.Index(fields=["organisation", "value_class"], name="ca_org_class"),
            models.Index(fields=["organisation", "predicted_clv"], name="ca_org_clv"),
            # "Valuable and fading", most valuable first: read in index order up to the limit.
            models.Index(fields=["organisation", "-clv_if_alive"], name="ca_org_clv_if_alive"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.lifecycle} {self.rfm_segment}"


class ReportKind(models.TextChoices):
    """The kinds of Report a refresh writes (their data shapes: analytics.reports)."""

    KPIS = "kpis", _("KPIs")
    COHORTS = "cohorts", _("Cohorts")
    CATEGORIES = "categories", _("Category performance")
    CYCLES = "cycles", _("Repurchase cycles")
    BASKET = "basket", _("Basket analysis")
    TRAFFIC_PROFIT = "traffic_profit", _("Traffic vs profit items")
    CLV = "clv", _("Customer value model")
    TRENDS = "trends", _("Dashboard trends")
    FUNNEL = "funnel", _("Lifecycle funnel")


class Report(models.Model):
    """An organisation-level result (KPIs, cohorts, cycles, baskets, CLV fit) as of a date."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    scope = models.CharField(
        max_length=40, blank=True, help_text="'' for the organisation, 'store:ID', 'owner:ID'"
    )
    as_of = models.DateField()
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "scope", "as_of"], name="report_unique_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "kind", "scope", "-as_of"], name="report_latest")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.scope} {self.as_of}"


class RefreshRun(models.Model):
    """One analytics refresh of an organisation: when, how long, how many customers, any error."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    customers = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The claim: a second refresh of the same organisation fails to insert its
            # running row and backs off (works on SQLite and PostgreSQL alike).
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(status="running"),
                name="refresh_one_running_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"refresh {self.organisation_id} {self.as_of} {self.status}"


class CustomerDue(models.Model):
    """A customer due (or about to be due) to buy a category again, from the latest refresh.

    No day count and no as-of date are stored: they would change every night for every row,
    and the refresh rewrites only the rows whose values changed. Her days since the category's
    last purchase are the refresh's as_of (her CustomerAnalytics.as_of, written by the same
    refresh) minus `last_purchase_date` (`queries.due_days`).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="repurchase_due"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey("sales.Category", on_delete=models.CASCADE, related_name="+")
    last_purchase_date = models.DateField()
    due_from_days = models.FloatField()
    due_to_days = models.FloatField()
    window_source = models.CharField(max_length=10)  # "configured" or "learned"
    due_now = models.BooleanField(default=False)  # False: the window opens within the week

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "category"], name="due_once_per_category")
        ]
        indexes = [
            models.Index(fields=["organisation", "category"], name="due_org_category"),
            # The dashboard's "due this week", most overdue first (analytics.queries.due_this_week).
            models.Index(
                fields=["organisation", "-due_now", "last_purchase_date"], name="due_org_overdue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} due {self.category_id}"

    @property
    def days_since_last(self) -> int | None:
        """Days from `last_purchase_date` to the refresh's as_of, on a row read with
        `refreshed_on` (`queries.due_this_week`); None on a row read without it."""
        refreshed_on = getattr(self, "refreshed_on", None)
        if refreshed_on is None:
            return None
        return (refreshed_on - self.last_purchase_date).days
