"""Forms for staff accounts, stores and handover."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import Role, Store, User
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
        if not self.instance.pk:
            self.fields["password"].required = True

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password, self.instance)
        return password


class StoreForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["name", "address", "phone", "sms_signature"]


class HandoverForm(forms.Form):
    from_staff = forms.ModelChoiceField(
        label=_("Hand over the customers of"), queryset=User.objects.none()
    )
    to_staff = forms.ModelMultipleChoiceField(
        label=_("To"),
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
