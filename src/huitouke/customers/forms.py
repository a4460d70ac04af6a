"""Forms for the customer screens; writes still go through customers.actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import Role, Store, User
from huitouke.accounts.scoping import staff_q
from huitouke.customers.models import (
    Customer,
    CustomField,
    FamilyMember,
    FieldType,
    Interaction,
    Relation,
)
from huitouke.customers.phones import phone_as_seen
from huitouke.customers.validation import validate_birthday, validate_customer, validate_phone


class CustomerForm(forms.ModelForm):
    tags_text = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas, e.g. VIP, 敏感肌"),
        max_length=300,
    )

    class Meta:
        model = Customer
        fields = [
            "name",
            "phone",
            "wechat_id",
            "gender",
            "salutation_override",
            "birthday_kind",
            "birth_year",
            "birth_month",
            "birth_day",
            "birth_leap_month",
            "city",
            "city_tier",
            "address",
            "email",
            "source",
            "budget",
            "owner",
            "home_store",
            "external_id",
            "consent_sms",
            "consent_email",
            "consent_wechat",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.shown_phone = ""
        org = user.organisation
        self.fields["owner"].queryset = User.objects.filter(staff_q(user), is_active=True)  # type: ignore[attr-defined]
        self.fields["home_store"].queryset = Store.objects.filter(organisation=org)  # type: ignore[attr-defined]
        if user.role == Role.STAFF:
            del self.fields["owner"]
        if self.instance.pk:
            self.fields["tags_text"].initial = ", ".join(t.name for t in self.instance.tags.all())
            # The number as this user may see it: a manager gets the mask (and reveals the number
            # on the customer's page, audited); sending the mask back keeps the stored number.
            self.shown_phone = phone_as_seen(user, self.instance)
            if self.instance.phone:
                self.initial["phone"] = self.shown_phone
        # Deactivated fields are not asked; their values stay (action_fields keeps them).
        self.custom_fields = list(CustomField.objects.filter(organisation=org, active=True))
        for cf in self.custom_fields:
            self.fields[f"cf_{cf.key}"] = _custom_form_field(cf)
            if self.instance.pk and cf.key in self.instance.custom:
                self.initial[f"cf_{cf.key}"] = self.instance.custom[cf.key]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The rules of customers.validation, here so that every problem shows beside its field at
        # once and the typed values stay in the form; the action applies them again.
        if not self.is_shown_mask(data.get("phone")):
            _apply_rules(self, lambda: validate_phone(data.get("phone")))
        values = {k: data.get(k) for k in ("budget", *BIRTHDAY_INPUTS) if k in self.fields}
        if not self.has_error("budget") and not any(self.has_error(k) for k in BIRTHDAY_INPUTS):
            _apply_rules(self, lambda: validate_customer(values))
        return data

    def is_shown_mask(self, value: Any) -> bool:
        """The masked number this form showed, sent back unchanged: keep the stored number."""
        return bool(self.instance.pk and "*" in self.shown_phone and value == self.shown_phone)

    def _post_clean(self) -> None:
        # Model validation (uniqueness) happens in the action, which knows the organisation.
        pass

    def action_fields(self) -> dict[str, Any]:
        """Cleaned data shaped for do_create_customer / do_update_customer."""
        data = {k: v for k, v in self.cleaned_data.items() if k in self.Meta.fields}
        data["phone"] = data.get("phone") or ""
        if self.is_shown_mask(data["phone"]):
            del data["phone"]
        data["tags"] = [
            t for t in (self.cleaned_data.get("tags_text") or "").replace("，", ",").split(",")
        ]
        custom = dict(self.instance.custom or {}) if self.instance.pk else {}
        for cf in self.custom_fields:
            value = self.cleaned_data.get(f"cf_{cf.key}")
            if value in (None, "", []):
                custom.pop(cf.key, None)
            else:
                custom[cf.key] = _json_value(value)
        data["custom"] = custom
        return data


BIRTHDAY_INPUTS = ("birthday_kind", "birth_year", "birth_month", "birth_day", "birth_leap_month")


def _apply_rules(form: forms.BaseForm, check: Any) -> None:
    """Run one validation rule, putting what it refuses on the field it names."""
    try:
        check()
    except ValidationError as exc:
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)


def _custom_form_field(cf: CustomField) -> forms.Field:
    label = cf.label
    if cf.type == FieldType.NUMBER:
        return forms.DecimalField(label=label, required=False)
    if cf.type == FieldType.DATE:
        return forms.DateField(
            label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
    if cf.type == FieldType.CHOICE:
        return forms.ChoiceField(
            label=label, required=False, choices=[("", "—"), *[(c, c) for c in cf.choices]]
        )
    if cf.type == FieldType.MULTI:
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            choices=[(c, c) for c in cf.choices],
            widget=forms.CheckboxSelectMultiple,
        )
    return forms.CharField(label=label, required=False, max_length=200)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value % 1 else int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class InteractionForm(forms.ModelForm):
    class Meta:
        model = Interaction
        fields = ["kind", "note", "rating"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}


class FamilyMemberForm(forms.ModelForm):
    class Meta:
        model = FamilyMember
        fields = [
            "relation",
            "name",
            "gender",
            "birthday_kind",
            "birth_year",
            "birth_month",
            "birth_day",
            "note",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        relation = data.get("relation")
        who = Relation(relation).label if relation in Relation.values else ""
        if data.get("name"):
            who = f"{who} {data['name']}".strip()
        _apply_rules(
            self,
            lambda: validate_birthday(
                data.get("birthday_kind"),
                data.get("birth_year"),
                data.get("birth_month"),
                data.get("birth_day"),
                who=str(who),
            ),
        )
        return data
