"""Membership: per-organisation rules, tiers, the points ledger, coupon templates and coupons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huitouke.core.touch import TouchingQuerySet

ZERO = Decimal("0.00")


def plain_amount(amount: Decimal) -> str:
    """10.00 -> "10", 10.50 -> "10.5": how amounts read in 满150减30."""
    text = f"{amount:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class ExpiryPolicy(models.TextChoices):
    NEVER = "never", _("Never")
    MONTHS = "months", _("N months after earning")
    END_OF_NEXT_YEAR = "next_year_end", _("At the end of the following year")


class LoyaltySettings(models.Model):
    """The organisation's points rules (one row per organisation, created with default values)."""

    organisation = models.OneToOneField(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="loyalty_settings",
    )
    points_per_yuan = models.DecimalField(
        _("points per yuan paid"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    birthday_multiplier = models.DecimalField(
        _("birthday-month multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    points_per_yuan_redeemed = models.PositiveIntegerField(
        _("points worth one yuan"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_("100 means 100 points pay ¥1."),
    )
    max_points_share = models.PositiveSmallIntegerField(
        _("largest share of an order payable with points (%)"),
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    expiry_policy = models.CharField(
        _("points expire"),
        max_length=15,
        choices=ExpiryPolicy.choices,
        default=ExpiryPolicy.END_OF_NEXT_YEAR,
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("months until points expire"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    return_coupon_on_refund = models.BooleanField(
        _("a fully refunded order gives its coupon back (if still valid)"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_points_share__lte=100)
                & Q(points_per_yuan__gte=0)
                & Q(birthday_multiplier__gte=1),
                name="loyalty_settings_sane",
            )
        ]

    def __str__(self) -> str:
        return f"loyalty settings of {self.organisation_id}"


class Tier(models.Model):
    """A membership level reached by trailing-12-month net spend."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="tiers"
    )
    name = models.CharField(_("name"), max_length=30)
    threshold = models.DecimalField(
        _("12-month spend from (yuan)"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    price_rate = models.DecimalField(
        _("price paid"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
        help_text=_("Share of the price members pay: 0.88 is 8.8折, 1 is no discount."),
    )
    points_multiplier = models.DecimalField(
        _("points multiplier"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    free_delivery = models.BooleanField(_("free delivery"), default=False)
    priority_service = models.BooleanField(_("priority service"), default=False)
    birthday_gift = models.BooleanField(_("birthday gift"), default=False)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["organisation", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "threshold"], name="tier_threshold_unique_per_org"
            ),
            models.UniqueConstraint(
                fields=["organisation", "name"], name="tier_name_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=0)
                & Q(price_rate__gt=0)
                & Q(price_rate__lte=1)
                & Q(points_multiplier__gte=0),
                name="tier_values_sane",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def discount_label(self) -> str:
        """8.8折 for a price rate of 0.88; empty when members pay the full price."""
        if self.price_rate >= 1:
            return ""
        return f"{(self.price_rate * 10).normalize():f}折"

    def perks(self) -> list[Any]:
        """The perks' display names."""
        names = [
            (self.free_delivery, _("free delivery")),
            (self.priority_service, _("priority service")),
            (self.birthday_gift, _("birthday gift")),
        ]
        return [label for on, label in names if on]


class LoyaltyAccount(models.Model):
    """A customer's points balance, points owed after refunds, and current tier.

    `balance` always equals the sum of her ledger's `points`, and `debt` the sum of its `debt`:
    both change only through `loyalty.actions`, by F() updates next to the ledger row.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="loyalty"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    balance = models.IntegerField(_("points"), default=0)
    debt = models.IntegerField(_("points owed"), default=0)
    tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="accounts"
    )
    tier_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(debt__gte=0), name="loyalty_account_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "tier"], name="loyalty_account_org_tier")]

    def __str__(self) -> str:
        return f"account of {self.customer_id}: {self.balance}"


class PointsKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    REFUND_REVERSAL = "reversal", _("Taken back (refund)")
    REFUND_RETURN = "return", _("Returned (refund)")


class AppendOnlyError(Exception):
    """Ledger rows are never changed or deleted; post a correcting entry instead."""


class PointsEntry(models.Model):
    """One row of the append-only points ledger.

    `points` is the change of the balance and `debt` the change of the points owed. A positive
    row with `expires_at` is a lot that lapses then; a refund reversal carries the expiry of the
    points it takes back (see actions.points_to_expire).
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="points_entries"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PointsKind.choices)
    points = models.IntegerField(_("points"))
    debt = models.IntegerField(_("points owed"), default=0)
    balance_after = models.IntegerField(_("balance"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    order = models.ForeignKey(
        "sales.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_entries",
    )
    refund = models.ForeignKey(
        "sales.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # An order earns once, however often a hook or a retry runs.
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="earn"), name="points_earned_once_per_order"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="points_balance_after_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="points_customer_time"),
            # The expiry job sums lots by expiry date.
            models.Index(fields=["organisation", "expires_at"], name="points_org_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} for {self.customer_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("points entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("points entries are append-only")


class TierChange(models.Model):
    """History of a customer's tier: every up- and downgrade with the spend that caused it."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tier_changes"
    )
    from_tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Names are kept as written at the time, so the history reads right after a tier is renamed.
    from_name = models.CharField(max_length=30, blank=True)
    to_name = models.CharField(max_length=30, blank=True)
    spend_12m = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=20)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_name} -> {self.to_name}"


class CouponKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off above a threshold (满减)")
    PERCENT_OFF = "percent_off", _("Percent off")
    NO_THRESHOLD = "no_threshold", _("Amount off, no threshold")


class Validity(models.TextChoices):
    FIXED = "fixed", _("Fixed dates")
    DAYS = "days", _("N days after issue")


class CouponTemplate(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="coupon_templates"
    )
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(
        _("kind"), max_length=15, choices=CouponKind.choices, default=CouponKind.AMOUNT_OFF
    )
    amount = models.DecimalField(
        _("amount off (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text=_("12 means 12 percent off (8.8折)."),
    )
    max_discount = models.DecimalField(
        _("largest discount (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    threshold = models.DecimalField(
        _("minimum spend (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    validity = models.CharField(
        _("validity"), max_length=5, choices=Validity.choices, default=Validity.DAYS
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    per_customer_limit = models.PositiveSmallIntegerField(
        _("coupons per customer"), null=True, blank=True, default=1, help_text=_("Empty: no limit.")
    )
    quota = models.PositiveIntegerField(
        _("total quota"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    issued_count = models.PositiveIntegerField(_("issued"), default=0, editable=False)
    categories = models.ManyToManyField(
        "sales.Category",
        blank=True,
        related_name="+",
        verbose_name=_("only for categories"),
        help_text=_("Empty: every item counts."),
    )
    min_tier = models.ForeignKey(
        Tier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("minimum tier"),
    )
    is_active = models.BooleanField(_("can be issued"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The quota is enforced by a conditional UPDATE; this makes an overrun impossible anyway.
            models.CheckConstraint(
                condition=Q(quota__isnull=True) | Q(issued_count__lte=models.F("quota")),
                name="coupon_quota_not_exceeded",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        """满150减30 / 8.8折 / 无门槛减20, as shown to staff and customers."""
        if self.kind == CouponKind.PERCENT_OFF:
            text = gettext("%(percent)s%% off") % {
                "percent": plain_amount(self.percent_off or ZERO)
            }
            if self.threshold > 0:
                text = gettext("%(offer)s on orders of ¥%(threshold)s") % {
                    "offer": text,
                    "threshold": plain_amount(self.threshold),
                }
            if self.max_discount:
                text += gettext(" (up to ¥%(max)s)") % {"max": plain_amount(self.max_discount)}
        elif self.kind == CouponKind.NO_THRESHOLD or self.threshold <= 0:
            text = gettext("¥%(amount)s off, no minimum") % {
                "amount": plain_amount(self.amount or ZERO)
            }
        else:
            text = gettext("¥%(amount)s off orders of ¥%(threshold)s") % {
                "amount": plain_amount(self.amount or ZERO),
                "threshold": plain_amount(self.threshold),
            }
        if self.pk:
            names = [c.name for c in self.categories.all()]
            if names:
                text += gettext(" (only %(categories)s)") % {"categories": "、".join(names)}
        return text


class CouponStatus(models.TextChoices):
    ISSUED = "issued", _("Usable")
    REDEEMED = "redeemed", _("Used")
    EXPIRED = "expired", _("Expired")
    VOID = "void", _("Voided")


class Coupon(models.Model):
    """One coupon issued to one customer; its unguessable code is redeemed at most once."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="coupons")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="coupons"
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.ISSUED
    )
    valid_from = models.DateTimeField(_("valid from"))
    expires_at = models.DateTimeField(_("valid until"))
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "sales.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    # For the change feed (integrations): set on save and by every queryset update().
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    void_reason = models.CharField(max_length=200, blank=True)

    objects = TouchingQuerySet["Coupon"].as_manager()

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["expires_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(order__isnull=False), name="one_coupon_per_order"
            ),
            models.CheckConstraint(
                condition=~Q(status="redeemed") | Q(redeemed_at__isnull=False),
                name="redeemed_coupon_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "status", "expires_at"], name="coupon_customer_status"
            ),
            models.Index(fields=["status", "expires_at"], name="coupon_status_expiry"),
        ]

    def __str__(self) -> str:
        return self.code
