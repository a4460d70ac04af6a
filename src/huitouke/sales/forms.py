"""Forms for products, categories and refunds (the quick order's are in loyalty.forms)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

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


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund (empty = everything left)"),
        required=False,
        min_value=0.01,
        decimal_places=2,
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)
