"""Forms for staff accounts, stores and handover."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts.models import Organisation, Role, Store, User
from huitouke.accounts.scoping import staff_q


class StaffForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput,
        required=False,
        help_text=_("At least 8 characters. Leave empty to keep the current one."),
    )

    class Meta:
        model = User
        fields = ["username", "display_name", "phone", "role", "store", "is_active"]

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(organisation=organisation)  # type: ignore[attr-defined]
        self.fields["store"].required = True
        self.fields["store"].label = _("Store")
        if not self.instance.pk:
            self.fields["password"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password") or ""
        if password:
            # Checked against the username and name as typed, not the unsaved instance's.
            probe = User(
                username=data.get("username") or self.instance.username,
                display_name=data.get("display_name") or self.instance.display_name,
                phone=data.get("phone") or self.instance.phone,
            )
            try:
                validate_password(password, probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class StoreForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["name", "address", "phone", "sms_signature"]


class HandoverForm(forms.Form):
    from_staff = forms.ModelChoiceField(
        label=_("Hand over the customers of"), queryset=User.objects.none()
    )
    to_staff = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("handover", "To"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose one colleague, or several to spread the customers evenly."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = (
            User.objects.filter(staff_q(user)).exclude(role=Role.OWNER, pk=user.pk)
            if user.role != Role.OWNER
            else User.objects.filter(staff_q(user))
        )
        self.fields["from_staff"].queryset = visible  # type: ignore[attr-defined]
        self.fields["to_staff"].queryset = visible.filter(is_active=True)  # type: ignore[attr-defined]


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = [
            "name",
            "industry",
            "time_zone",
            "silent_after_days",
            "churned_after_days",
            "rfm_lookback_days",
            "rfm_high_low",
        ]

    def clean_time_zone(self) -> str:

        value = self.cleaned_data["time_zone"]
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise forms.ValidationError(
                _("“%(value)s” is not a time zone (e.g. Asia/Shanghai)."), params={"value": value}
            ) from exc
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        silent, churned = data.get("silent_after_days"), data.get("churned_after_days")
        if silent and churned and churned <= silent:
            self.add_error("churned_after_days", _("Churned must come after silent (more days)."))
        return data
