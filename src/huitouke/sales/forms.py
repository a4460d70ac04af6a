"""Forms for the quick order, products and categories."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import Store, User
from huitouke.loyalty.forms import CheckoutFields
from huitouke.sales import actions
from huitouke.sales.models import Category, Product
from huitouke.sales.phases import windows_for

PHASE_FIELDS = list(actions.PHASE_FIELDS)


class PhaseDaysMixin:
    """The form reports the phase days at once, by the rule the save applies (sales.actions)."""

    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()  # type: ignore[misc]
        try:
            actions.check_phase_days(*(self.cleaned_data.get(name) for name in PHASE_FIELDS))
        except ValidationError as exc:
            self.add_error(None, exc)  # type: ignore[attr-defined]
        return cleaned  # type: ignore[no-any-return]


class ProductForm(PhaseDaysMixin, forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "name",
            "sku",
            "category",
            "price",
            "cost",
            "use_cycle_days",
            *PHASE_FIELDS,
            "is_active",
        ]
        help_texts = {"phase_use_from": _("Blank: the category's phases.")}

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.instance.organisation = organisation
        self.fields["category"].queryset = Category.objects.filter(organisation=organisation)  # type: ignore[attr-defined]


class CategoryForm(PhaseDaysMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "cycle_days", *PHASE_FIELDS]

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.instance.organisation = organisation
        template = windows_for(Category(name=self.instance.name or ""), None, organisation.industry)
        self.fields["phase_use_from"].help_text = _(
            "Blank: the template for your trade, in use from day %(u)s, running out from day "
            "%(e)s, dormant from day %(d)s."
        ) % {"u": template.use_from, "e": template.end_from, "d": template.dormant_from}


class OrderHeaderForm(CheckoutFields):
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The lookup: a mobile, its last digits, a name or a scanned member code (sales.views).
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


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund (empty = everything left)"),
        required=False,
        min_value=0.01,
        decimal_places=2,
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)
