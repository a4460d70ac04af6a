"""Customers: the full profile (the seed's 硬件/软件 archive), tags, family, interactions, stats."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts import scoping
from huitouke.core.touch import TouchingQuerySet
from huitouke.customers.names import salutation_for, surname_of
from huitouke.customers.pinyin import name_keys


class Gender(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    UNKNOWN = "", _("Unknown")


class CalendarKind(models.TextChoices):
    SOLAR = "solar", _("Solar (公历)")
    LUNAR = "lunar", _("Lunar (农历)")


class Source(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    REFERRAL = "referral", _("Referral")
    WECHAT = "wechat", _("WeChat")
    DOUYIN = "douyin", _("Douyin")
    XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")
    MEITUAN = "meituan", _("Meituan / Dianping")
    ONLINE_SHOP = "online_shop", _("Online shop")
    EVENT = "event", pgettext_lazy("source", "Event")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class CustomerQuerySet(TouchingQuerySet["Customer"]):
    def visible_to(self, user: Any) -> CustomerQuerySet:
        """Customers `user` may see (see accounts.scoping)."""
        return self.filter(scoping.customer_q(user)).filter(merged_into__isnull=True)

    def active(self) -> CustomerQuerySet:
        """Customers not merged into another."""
        return self.filter(merged_into__isnull=True)


class Birthday(models.Model):
    """Birthday fields shared by customers and their family members (year optional, lunar or solar)."""

    birthday_kind = models.CharField(
        _("birthday calendar"),
        max_length=5,
        choices=CalendarKind.choices,
        default=CalendarKind.SOLAR,
    )
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    birth_month = models.PositiveSmallIntegerField(_("birth month"), null=True, blank=True)
    birth_day = models.PositiveSmallIntegerField(_("birth day"), null=True, blank=True)
    birth_leap_month = models.BooleanField(_("leap month (lunar)"), default=False)

    class Meta:
        abstract = True

    @property
    def has_birthday(self) -> bool:
        return bool(self.birth_month and self.birth_day)

    def birthday_display(self) -> str:
        if not self.has_birthday:
            return ""
        year = f"{self.birth_year}-" if self.birth_year else ""
        if self.birthday_kind == CalendarKind.LUNAR:
            leap = "闰" if self.birth_leap_month else ""
            return f"{year}{leap}{self.birth_month}-{self.birth_day} ({_('lunar')})"
        return f"{year}{self.birth_month:02d}-{self.birth_day:02d}"


class Customer(Birthday):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="customers"
    )
    external_id = models.CharField(_("customer number"), max_length=64, blank=True)
    # A person's name (姓名), not a thing's (名称): docs/glossary.md.
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    # Kept from `name` by save() and by the bulk writers (customers.pinyin.name_keys): zhanglimei, zlm.
    name_pinyin = models.CharField(max_length=200, blank=True, default="", editable=False)
    name_initials = models.CharField(max_length=50, blank=True, default="", editable=False)
    salutation_override = models.CharField(
        _("salutation"),
        max_length=20,
        blank=True,
        help_text=_(
            "How scripts and messages address her, e.g. 欧阳女士; empty: from name and gender."
        ),
    )
    # NULL rather than "" so the per-organisation unique constraint ignores customers without a phone.
    phone = models.CharField(_("mobile"), max_length=20, null=True, blank=True)  # noqa: DJ001
    wechat_id = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, blank=True, default=""
    )
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    city_tier = models.PositiveSmallIntegerField(_("city tier"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.WALK_IN
    )
    referrer = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("referred by"),
    )
    budget = models.DecimalField(
        _("budget (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner (staff)"),
    )
    home_store = models.ForeignKey(
        "accounts.Store",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("home store"),
    )
    consent_sms = models.BooleanField(_("accepts SMS marketing"), default=False)
    consent_email = models.BooleanField(_("accepts email marketing"), default=False)
    consent_wechat = models.BooleanField(_("accepts WeChat marketing"), default=False)
    # Unknown until she answers (PIPL art. 14): False by default, and an answer — given or
    # withdrawn, with its source, actor and time — is a members.ConsentEvent.
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    custom = models.JSONField(_("archive fields"), default=dict, blank=True)
    tags = models.ManyToManyField(
        "customers.Tag", blank=True, related_name="customers", verbose_name=_("tags")
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_from"
    )
    # When her personal data was erased (PIPL art. 47, customers.privacy.do_erase_customer).
    # The one answer to "was she erased?"; an erased customer is also marked merged into herself,
    # which is what takes her out of every list, search, segment, rule and feed (the ~30 queries,
    # constraints and indexes that mean "a live customer" by merged_into IS NULL).
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "phone"],
                condition=Q(phone__isnull=False) & Q(merged_into__isnull=True),
                name="customer_phone_unique_per_org",
            ),
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~Q(external_id="") & Q(merged_into__isnull=True),
                name="customer_external_id_unique_per_org",
            ),
        ]
        indexes = [
            # The list pages count and page unmerged customers of one organisation newest first;
            # with merged_into in the index both the COUNT and the LIMIT query stay index-only.
            models.Index(fields=["organisation", "merged_into", "-id"], name="customer_org_id"),
            # merged_into after the owner: "without an owner" counts from the index alone (the
            # dashboard), and her own list (merged_into IS NULL) still reads it in -id order.
            models.Index(
                fields=["organisation", "owner", "merged_into", "-id"], name="customer_org_owner"
            ),
            models.Index(fields=["organisation", "home_store", "-id"], name="customer_org_store"),
            models.Index(fields=["organisation", "name"], name="customer_org_name"),
            models.Index(fields=["organisation", "wechat_id"], name="customer_org_wechat"),
            # The dashboard's "new today".
            models.Index(fields=["organisation", "created_at"], name="customer_org_created"),
            # The dashboard's birthdays this week (analytics.queries.birthdays_this_week).
            models.Index(
                fields=["organisation", "birth_month", "birth_day"], name="customer_org_birthday"
            ),
            # Pinyin search is a prefix match: on PostgreSQL LIKE 'zlm%' needs the pattern opclass
            # (other databases ignore opclasses and use the plain index).
            models.Index(
                fields=["organisation", "name_pinyin"],
                name="customer_org_pinyin",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["organisation", "name_initials"],
                name="customer_org_initials",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_pinyin, self.name_initials = name_keys(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_pinyin", "name_initials"}
        super().save(*args, **kwargs)

    @property
    def surname(self) -> str:
        return surname_of(self.name)

    @property
    def salutation(self) -> str:
        """Staff's override, else 欧阳女士 / 陈先生 (or the full name when the gender is unknown)."""
        return salutation_for(self.name, self.gender, self.salutation_override)


class CustomerStats(models.Model):
    """Per-customer aggregates, recomputed in the same transaction as every order or refund."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    net_spend = models.DecimalField(_("net spend"), max_digits=14, decimal_places=2, default=0)
    gross_margin = models.DecimalField(
        _("gross margin"), max_digits=14, decimal_places=2, default=0
    )
    avg_order_value = models.DecimalField(
        _("average order value"), max_digits=12, decimal_places=2, default=0
    )
    spend_12m = models.DecimalField(
        _("spend, last 12 months"), max_digits=14, decimal_places=2, default=0
    )
    last_order_categories = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer stats")
        verbose_name_plural = _("customer stats")
        indexes = [
            models.Index(fields=["organisation", "last_order_at"], name="stats_org_last"),
            models.Index(fields=["organisation", "net_spend"], name="stats_org_spend"),
            # First-order anniversaries select one day-range per year on this column.
            models.Index(fields=["organisation", "first_order_at"], name="stats_org_first"),
            # The dashboard's "never bought" (potential customers).
            models.Index(fields=["organisation", "orders_count"], name="stats_org_orders"),
        ]

    def __str__(self) -> str:
        return f"stats of {self.customer_id}"


class Tag(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=30)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="tag_name_unique_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class FieldType(models.TextChoices):
    TEXT = "text", pgettext_lazy("field type", "Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI = "multi", _("Multiple choice")


class FieldGroup(models.TextChoices):
    HARDWARE = "hardware", _("Basics (硬件)")
    SOFTWARE = "software", _("Personality & preferences (软件)")
    STYLE = "style", _("Style profile")
    OTHER = "other", _("Other")


class CustomField(models.Model):
    """An organisation-defined archive field; values live in Customer.custom[key]."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="custom_fields"
    )
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=50)
    type = models.CharField(
        _("type"), max_length=10, choices=FieldType.choices, default=FieldType.TEXT
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    group = models.CharField(
        _("group"), max_length=10, choices=FieldGroup.choices, default=FieldGroup.OTHER
    )
    position = models.PositiveSmallIntegerField(default=0)
    template = models.CharField(
        max_length=20, blank=True, help_text=_("Industry template that created it.")
    )
    # A deactivated field leaves the forms and the customer page; its definition and what
    # customers had in it are kept, and it can be switched on again.
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("archive field")
        verbose_name_plural = _("archive fields")
        ordering = ["group", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return self.label


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


class FamilyMember(Birthday):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="family")
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, blank=True, default=""
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_relation_display()} {self.name}".strip()


class InteractionKind(models.TextChoices):
    VISIT = "visit", pgettext_lazy("interaction", "Visit")
    CALL = "call", _("Call")
    WECHAT = "wechat", _("WeChat chat")
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    AFTER_SALE = "after_sale", _("After-sale / refund")
    REVIEW = "review", _("Review")
    FAVOURITE = "favourite", _("Favourite / wish list")
    CART = "cart", _("Added to cart")
    EVENT = "event", _("Event sign-up")
    NOTE = "note", _("Note")


class Interaction(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_time")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class OwnershipChange(models.Model):
    """History of who owned a customer: handovers, merges and manual reassignments."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="ownership_changes"
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=20)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_owner_id} -> {self.to_owner_id}"
