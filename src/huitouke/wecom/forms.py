"""The WeCom connection form: secrets are typed in, never shown back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.wecom.models import WeComConnection

FIELDS = (
    ("corp_id", _("Corp ID (企业ID)")),
    ("secret", _("Customer contact secret (客户联系 Secret)")),
    ("token", _("Callback Token")),
    ("aes_key", _("Callback EncodingAESKey")),
)


class ConnectionForm(forms.Form):
    def __init__(self, *args: Any, connection: WeComConnection | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in FIELDS:
            stored = bool(connection and getattr(connection, f"{name}_enc"))
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                strip=True,
                widget=forms.PasswordInput(
                    render_value=False,
                    attrs={
                        "autocomplete": "off",
                        "placeholder": _("Saved — leave empty to keep it")
                        if stored
                        else _("Not set"),
                    },
                ),
            )
