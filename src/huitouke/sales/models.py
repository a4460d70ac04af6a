"""Products, categories (with repurchase cycles), orders, lines and refunds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.accounts import scoping
from huitouke.core.touch import TouchingQuerySet

ZERO = Decimal("0.00")


class Category(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="categories"
    )
    name = models.CharField(_("name"), max_length=50)
    cycle_days = models.PositiveIntegerField(
        _("repurchase cycle (days)"),
        null=True,
        blank=True,
        help_text=_("How often a customer usually buys again."),
    )
    learned_cycle_days = models.PositiveIntegerField(
        _("learned cycle (days)"), null=True, blank=True, editable=False
    )
    # Product phases (sales.phases): the first day after a purchase of each phase; all three
    # blank = the template for the category's trade.
    phase_use_from = models.PositiveIntegerField(_("in use from day"), null=True, blank=True)
    phase_end_from = models.PositiveIntegerField(_("running out from day"), null=True, blank=True)
    phase_dormant_from = models.PositiveIntegerField(_("dormant from day"), null=True, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="category_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="products"
    )
    sku = models.CharField(_("SKU"), max_length=50, blank=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("category"),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=ZERO)
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=ZERO)
    use_cycle_days = models.PositiveIntegerField(_("use cycle (days)"), null=True, blank=True)
    # The product's own phases (sales.phases); all three blank = its category's.
    phase_use_from = models.PositiveIntegerField(_("in use from day"), null=True, blank=True)
    phase_end_from = models.PositiveIntegerField(_("running out from day"), null=True, blank=True)
    phase_dormant_from = models.PositiveIntegerField(_("dormant from day"), null=True, blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sku"],
                condition=~Q(sku=""),
                name="product_sku_unique_per_org",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(cost__gte=0), name="product_price_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    CLOSED = "closed", _("Closed")


class OrderSource(models.TextChoices):
    STORE = "store", _("In store")
    WECHAT = "wechat", _("WeChat")
    ONLINE = "online", _("Online")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class OrderQuerySet(TouchingQuerySet["Order"]):
    def visible_to(self, user: Any) -> OrderQuerySet:
        """Orders `user` may see (see accounts.scoping)."""
        return self.filter(scoping.order_q(user))

    def counted(self) -> OrderQuerySet:
        """Orders that count in stats and analytics: paid and not fully refunded."""
        return self.filter(status=OrderStatus.PAID)


class Order(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="orders"
    )
    store = models.ForeignKey(
        "accounts.Store", on_delete=models.PROTECT, related_name="orders", verbose_name=_("store")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("customer"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("sold by"),
    )
    placed_at = models.DateTimeField(_("time"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PAID
    )
    gross_amount = models.DecimalField(
        _("amount before discounts"), max_digits=12, decimal_places=2, default=ZERO
    )
    discount_amount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=ZERO
    )
    coupon_amount = models.DecimalField(_("coupon"), max_digits=12, decimal_places=2, default=ZERO)
    points_used = models.PositiveIntegerField(_("points used"), default=0)
    points_amount = models.DecimalField(
        _("paid with points"), max_digits=12, decimal_places=2, default=ZERO
    )
    net_paid = models.DecimalField(_("net paid"), max_digits=12, decimal_places=2, default=ZERO)
    cost_amount = models.DecimalField(_("cost"), max_digits=12, decimal_places=2, default=ZERO)
    refunded_amount = models.DecimalField(
        _("refunded"), max_digits=12, decimal_places=2, default=ZERO
    )
    refunded_cost = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    source = models.CharField(
        _("channel"), max_length=10, choices=OrderSource.choices, default=OrderSource.STORE
    )
    external_id = models.CharField(_("external order number"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # For the change feed (integrations): set on save and by every queryset update().
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~Q(external_id=""),
                name="order_external_id_unique_per_org",
            ),
            models.CheckConstraint(
                condition=Q(net_paid__gte=0)
                & Q(refunded_amount__gte=0)
                & Q(refunded_amount__lte=models.F("net_paid")),
                name="order_amounts_consistent",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "status", "placed_at"], name="order_customer_status_time"
            ),
            models.Index(fields=["organisation", "placed_at"], name="order_org_time"),
            models.Index(
                fields=["organisation", "store", "placed_at"], name="order_org_store_time"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.placed_at:%Y-%m-%d} ¥{self.net_paid}"

    @property
    def net_after_refunds(self) -> Decimal:
        return self.net_paid - self.refunded_amount

    @property
    def margin(self) -> Decimal:
        return (self.net_paid - self.refunded_amount) - (self.cost_amount - self.refunded_cost)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="lines"
    )
    name = models.CharField(_("item"), max_length=100)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2, default=ZERO)
    refunded_quantity = models.PositiveIntegerField(default=0)
    # The row of an imported file this line came from ("row:<hash>", see imports.summary): a
    # re-import adds to a visit's order only the rows it does not hold yet. Blank otherwise.
    import_key = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=models.F("quantity")),
                name="line_refund_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class Refund(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    lines = models.JSONField(default=list, blank=True, help_text="[{line_id, quantity}]")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~Q(external_id=""),
                name="refund_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"refund ¥{self.amount} of #{self.order_id}"
