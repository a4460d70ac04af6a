"""Forms of the messaging screens: templates, channel settings, frequency cap, opt-outs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.messaging.models import (
    ChannelConfig,
    MessageTemplate,
    MessagingSettings,
    OptOutChannel,
    Provider,
)
from huitouke.messaging.rendering import VARIABLES, from_readable, param_names, readable


class ReadableTextField(forms.CharField):
    """A message text shown with its variables as ［称呼］ and stored as {{ salutation }}."""

    def prepare_value(self, value: Any) -> Any:
        return readable(value) if isinstance(value, str) else value

    def to_python(self, value: Any) -> Any:
        return from_readable(super().to_python(value) or "")


class TemplateForm(forms.ModelForm):
    sms_params_text = forms.CharField(
        label=_("SMS template parameters"),
        required=False,
        help_text=_(
            "The approved template's variables in its order, separated by commas (the names"
            " in the table of variables)."
        ),
    )

    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "subject", "body", "provider_template_code"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}
        field_classes = {"subject": ReadableTextField, "body": ReadableTextField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sms_params_text"].initial = ", ".join(
            str(VARIABLES[name][0]) if name in VARIABLES else name
            for name in self.instance.sms_params or []
        )
        self.fields["body"].help_text = _(
            "Type a variable as shown in the table of variables; it is replaced by the"
            " customer's own value."
        )

    def clean_sms_params_text(self) -> list[str]:
        text = self.cleaned_data.get("sms_params_text") or ""
        return param_names(
            [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]
        )

    def apply(self) -> MessageTemplate:
        """The template with the cleaned values (unsaved)."""
        template = self.save(commit=False)
        template.sms_params = self.cleaned_data["sms_params_text"]
        return template


class SmsChannelForm(forms.Form):
    """Aliyun or Tencent Cloud SMS credentials; a blank secret keeps the stored one."""

    provider = forms.ChoiceField(
        label=_("Provider"),
        choices=[(Provider.ALIYUN, "阿里云短信"), (Provider.TENCENT, "腾讯云短信")],
    )
    key_id = forms.CharField(label=_("AccessKey ID / SecretId"), max_length=100, required=False)
    secret = forms.CharField(
        label=_("AccessKey secret / SecretKey"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    sms_sdk_app_id = forms.CharField(
        label=_("SmsSdkAppId (Tencent)"), max_length=50, required=False
    )
    endpoint = forms.URLField(
        label=_("Endpoint (blank: the provider's)"), required=False, assume_scheme="https"
    )
    unit_cost = forms.DecimalField(
        label=_("Cost per SMS (yuan)"), min_value=0, max_digits=8, decimal_places=4, initial="0.045"
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("switch", "Active"), required=False, initial=True
    )

    @staticmethod
    def initial_for(config: ChannelConfig | None) -> dict[str, Any]:
        if config is None:
            return {}
        s = config.settings
        return {
            "provider": config.provider,
            "key_id": s.get("access_key_id") or s.get("secret_id", ""),
            "sms_sdk_app_id": s.get("sms_sdk_app_id", ""),
            "endpoint": s.get("endpoint", ""),
            "unit_cost": config.unit_cost,
            "is_active": config.is_active,
        }

    def settings(self, previous: dict[str, Any]) -> dict[str, Any]:
        d = self.cleaned_data
        old_secret = previous.get("access_key_secret") or previous.get("secret_key") or ""
        secret = d.get("secret") or old_secret
        if d["provider"] == Provider.ALIYUN:
            values = {"access_key_id": d.get("key_id", ""), "access_key_secret": secret}
        else:
            values = {
                "secret_id": d.get("key_id", ""),
                "secret_key": secret,
                "sms_sdk_app_id": d.get("sms_sdk_app_id", ""),
            }
        if d.get("endpoint"):
            values["endpoint"] = d["endpoint"]
        return values


class EmailChannelForm(forms.Form):
    """The SMTP server mail goes out through; a blank password keeps the stored one."""

    host = forms.CharField(label=_("SMTP host"), max_length=200, required=False)
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=465)
    security = forms.ChoiceField(
        label=_("Security"),
        choices=[("ssl", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", _("None"))],
        initial="ssl",
    )
    username = forms.CharField(label=_("User"), max_length=200, required=False)
    password = forms.CharField(
        label=_("Password"), max_length=200, required=False, widget=forms.PasswordInput
    )
    from_address = forms.EmailField(label=_("From address"), required=False)
    from_name = forms.CharField(label=_("From name"), max_length=100, required=False)
    unit_cost = forms.DecimalField(
        label=_("Cost per email (yuan)"), min_value=0, max_digits=8, decimal_places=4, initial="0"
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("switch", "Active"), required=False, initial=True
    )

    @staticmethod
    def initial_for(config: ChannelConfig | None) -> dict[str, Any]:
        if config is None:
            return {}
        keys = ("host", "port", "security", "username", "from_address", "from_name")
        return {
            **{k: config.settings.get(k) for k in keys},
            "unit_cost": config.unit_cost,
            "is_active": config.is_active,
        }

    def settings(self, previous: dict[str, Any]) -> dict[str, Any]:
        d = self.cleaned_data
        keys = ("host", "port", "security", "username", "from_address", "from_name")
        return {
            **{k: d.get(k) for k in keys},
            "password": d.get("password") or previous.get("password", ""),
        }


class SettingsForm(forms.ModelForm):
    class Meta:
        model = MessagingSettings
        fields = ["cap_messages", "cap_days", "max_attempts", "retry_after_seconds"]


class OptOutForm(forms.Form):
    channel = forms.ChoiceField(label=_("Stop"), choices=OptOutChannel.choices)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
