"""Forms of the loyalty screens: rules and tiers, coupon templates, issuing, point adjustments,
and the quick order (its header with the checkout fields, its lines)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import Store, User
from huitouke.loyalty.coupons import clean_template
from huitouke.loyalty.models import CouponTemplate, LoyaltySettings, Tier
from huitouke.sales.actions import LineInput
from huitouke.sales.models import Category, Product


class CheckoutFields(forms.Form):
    """The quick order's coupon and points fields (OrderHeaderForm below inherits them)."""

    coupon = forms.CharField(label=_("Coupon"), required=False, max_length=30)
    points = forms.IntegerField(
        label=_("Points to use"), required=False, min_value=0, max_value=100_000_000
    )


class LoyaltySettingsForm(forms.ModelForm):
    class Meta:
        model = LoyaltySettings
        fields = [
            "points_per_yuan",
            "birthday_multiplier",
            "points_per_yuan_redeemed",
            "max_points_share",
            "expiry_policy",
            "expiry_months",
            "return_coupon_on_refund",
        ]


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = [
            "name",
            "threshold",
            "price_rate",
            "points_multiplier",
            "free_delivery",
            "priority_service",
            "birthday_gift",
        ]
        widgets = {
            "name": forms.TextInput(attrs={"size": 8}),
            "threshold": forms.NumberInput(attrs={"style": "width:7rem"}),
            "price_rate": forms.NumberInput(attrs={"style": "width:5rem", "step": "0.01"}),
            "points_multiplier": forms.NumberInput(attrs={"style": "width:5rem", "step": "0.1"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A row of the tiers table: each box is named by its column for screen readers.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)
        if self.instance.pk is None:
            # The blank row for a new tier shows no model defaults, so leaving it empty changes nothing.
            for name in ("threshold", "price_rate", "points_multiplier"):
                self.fields[name].initial = None


class BaseTierFormSet(forms.BaseModelFormSet):
    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:  # the row's delete box, named for screen readers
            form.fields["DELETE"].widget.attrs["aria-label"] = _("Delete")

    def clean(self) -> None:
        super().clean()
        names, thresholds = set(), set()
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            name, threshold = (data.get("name") or "").strip(), data.get("threshold")
            if name in names:
                raise ValidationError(_("Two tiers are called “%(name)s”.") % {"name": name})
            if threshold in thresholds:
                raise ValidationError(
                    _("Two tiers start at ¥%(threshold)s.") % {"threshold": threshold}
                )
            names.add(name)
            thresholds.add(threshold)


TierFormSet = forms.modelformset_factory(
    Tier, form=TierForm, formset=BaseTierFormSet, extra=1, can_delete=True, max_num=20
)


class CouponTemplateForm(forms.ModelForm):
    class Meta:
        model = CouponTemplate
        fields = [
            "name",
            "kind",
            "amount",
            "threshold",
            "percent_off",
            "max_discount",
            "validity",
            "valid_from",
            "valid_until",
            "valid_days",
            "per_customer_limit",
            "quota",
            "categories",
            "min_tier",
            "is_active",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
            "categories": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation
        self.fields["categories"].queryset = Category.objects.filter(organisation=organisation)  # type: ignore[attr-defined]
        self.fields["min_tier"].queryset = Tier.objects.filter(organisation=organisation)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            candidate = CouponTemplate(
                organisation=self.instance.organisation,
                issued_count=self.instance.issued_count,
                **{k: v for k, v in data.items() if k != "categories"},
            )
            try:
                clean_template(candidate)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


class IssueCouponsForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Coupon"), queryset=CouponTemplate.objects.none())
    customers = forms.CharField(
        label=_("Customers"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_("One mobile number or customer number per line."),
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CouponTemplate.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation, is_active=True
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("customer") and not (data.get("customers") or "").strip():
            raise ValidationError(_("Enter at least one customer."))
        return data

    def entries(self) -> list[str]:
        """The non-empty lines typed, without duplicates, in order."""
        seen: dict[str, None] = {}
        for line in (self.cleaned_data.get("customers") or "").replace(",", "\n").splitlines():
            if line.strip():
                seen.setdefault(line.strip(), None)
        return list(seen)[:1000]


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points (negative to remove)"), min_value=-100_000_000, max_value=100_000_000
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise ValidationError(_("Enter a number of points other than 0."))
        return int(points)


class VoidCouponForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class OrderHeaderForm(CheckoutFields):
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The lookup: a mobile, its last digits, a name or a scanned member code (loyalty.quick_order).
    phone = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=60,
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "enterkeyhint": "search"}
        ),
    )
    name = forms.CharField(label=_("Name (for a new customer)"), required=False, max_length=100)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    discount = forms.DecimalField(
        label=_("Discount (yuan)"), required=False, min_value=0, decimal_places=2, initial=0
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(organisation=user.organisation)  # type: ignore[attr-defined]
        if user.store_id:
            self.fields["store"].initial = user.store_id


class OrderLineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False
    )
    item = forms.CharField(label=_("or item name"), required=False, max_length=100)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, initial=1)
    unit_price = forms.DecimalField(
        label=_("Unit price"), min_value=0, decimal_places=2, required=False
    )

    def __init__(self, *args: Any, organisation: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation, is_active=True
        ).select_related("category")
        # The line's boxes sit in a row under one heading: each is named for screen readers.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)

    def line(self) -> LineInput:
        """The checked line as the checkout takes it (call after is_valid)."""
        return LineInput(
            quantity=self.cleaned_data["quantity"],
            product=self.cleaned_data.get("product"),
            name=(self.cleaned_data.get("item") or "").strip(),
            unit_price=self.cleaned_data.get("unit_price"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("product") and not (data.get("item") or "").strip():
            raise forms.ValidationError(_("Choose a product or type the item's name."))
        if not data.get("product") and data.get("unit_price") is None:
            raise forms.ValidationError(_("Enter the unit price."))
        return data


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, extra=0, min_num=1, validate_min=True, max_num=100
)
