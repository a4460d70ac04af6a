"""Forms of the integrations screens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.integrations.models import WebhookEvent


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=_("Receiver URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://pos.example.com/huitouke"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
