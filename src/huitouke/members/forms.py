"""The join form (phone, code, name, birthday, the code's archive fields, consent) and the QR form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts import scoping
from huitouke.accounts.models import Role, Store, User
from huitouke.customers.models import CalendarKind, CustomField, FieldType, Source
from huitouke.members.models import JoinCode

MONTHS = [("", "—")] + [(str(m), str(m)) for m in range(1, 13)]
DAYS = [("", "—")] + [(str(d), str(d)) for d in range(1, 32)]


class JoinForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile"),
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": _("Your mobile number"),
            }
        ),
    )
    code = forms.CharField(
        label=_("SMS code"),
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "placeholder": _("6 digits"),
                "pattern": "[0-9]*",
            }
        ),
    )
    name = forms.CharField(
        label=pgettext_lazy("person", "Name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": _("Your name")}),
    )
    birthday_kind = forms.ChoiceField(
        label=_("Calendar"),
        choices=CalendarKind.choices,
        initial=CalendarKind.SOLAR,
        widget=forms.RadioSelect,
        required=False,
    )
    birth_year = forms.IntegerField(
        label=_("Year (optional)"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "1990"}),
    )
    birth_month = forms.TypedChoiceField(
        label=_("Month"), choices=MONTHS, coerce=int, empty_value=None, required=False
    )
    birth_day = forms.TypedChoiceField(
        label=_("Day"), choices=DAYS, coerce=int, empty_value=None, required=False
    )
    birth_leap_month = forms.BooleanField(label=_("Leap month"), required=False)
    consent_sms = forms.BooleanField(label=_("Offers by SMS"), required=False)
    consent_email = forms.BooleanField(label=_("Offers by email"), required=False)
    consent_wechat = forms.BooleanField(
        label=_("Offers on WeChat from my shop assistant"), required=False
    )

    def __init__(self, *args: Any, code: JoinCode, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.archive_fields: list[str] = []
        fields = CustomField.objects.filter(
            organisation_id=code.organisation_id, key__in=code.fields, active=True
        ).order_by("group", "position", "id")
        for field in fields:
            name = f"custom_{field.key}"
            choices = [(c, c) for c in field.choices]
            if field.type == FieldType.CHOICE:
                self.fields[name] = forms.ChoiceField(
                    label=field.label, choices=[("", "—"), *choices], required=False
                )
            elif field.type == FieldType.MULTI:
                self.fields[name] = forms.MultipleChoiceField(
                    label=field.label,
                    choices=choices,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                )
            elif field.type == FieldType.DATE:
                self.fields[name] = forms.DateField(
                    label=field.label,
                    required=False,
                    widget=forms.DateInput(attrs={"type": "date"}),
                )
            else:
                self.fields[name] = forms.CharField(
                    label=field.label, max_length=200, required=False
                )
            self.archive_fields.append(name)

    def custom_values(self) -> dict[str, Any]:
        values = {}
        for name in self.archive_fields:
            value: Any = self.cleaned_data.get(name)
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            values[name.removeprefix("custom_")] = value
        return values

    def archive_bound_fields(self) -> list[Any]:
        return [self[name] for name in self.archive_fields]


class JoinCodeForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    staff = forms.ModelChoiceField(
        label=_("Staff member (becomes the owner)"), queryset=User.objects.none(), required=False
    )
    label = forms.CharField(label=_("Source tag"), max_length=30)
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.WALK_IN)
    ask_fields = forms.MultipleChoiceField(
        label=_("Also ask for (optional)"),
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org_id = user.organisation_id or 0
        stores = Store.objects.filter(organisation_id=org_id)
        if user.role != Role.OWNER:
            stores = stores.filter(pk=user.store_id or 0)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]
        self.fields["staff"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            scoping.staff_q(user), is_active=True
        )
        self.fields["ask_fields"].choices = [  # type: ignore[attr-defined]
            (f.key, f.label)
            for f in CustomField.objects.filter(organisation_id=org_id, active=True)
        ]
        if user.role == Role.STAFF:
            self.fields["staff"].required = True
            self.initial.setdefault("staff", user.pk)
        if user.store_id:
            self.initial.setdefault("store", user.store_id)
