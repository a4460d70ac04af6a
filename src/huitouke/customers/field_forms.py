"""The form of one archive field on the owner's fields screen (customers.account_views)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.customers.models import CustomField


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a choice field: one choice a line."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "type", "group"]
        labels = {
            "label": pgettext_lazy("archive field", "Field name"),
            "type": pgettext_lazy("archive field", "Kind of answer"),
            "group": pgettext_lazy("archive field", "Section"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Its values were kept in this type: it stays.
            self.fields["type"].disabled = True
            self.fields["type"].help_text = _("The kind of answer stays as it was created.")
            self.initial["choices_text"] = "\n".join(self.instance.choices or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.instance.choices = [
            line.strip() for line in (data.get("choices_text") or "").splitlines() if line.strip()
        ]
        return data
