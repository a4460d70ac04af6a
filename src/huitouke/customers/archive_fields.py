"""Archive fields (自定义档案字段): an industry template's fields, and a field's add, edit,
deactivation and reactivation, each audited."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.customers.models import CustomField, FieldType


def apply_industry_template(organisation: Organisation, template: str) -> int:
    """Create the archive fields of an industry template (beauty, apparel, cosmetics); idempotent."""
    if template not in INDUSTRY_TEMPLATES:
        raise ValidationError(_("Unknown template “%(name)s”.") % {"name": template})
    created = 0
    for position, spec in enumerate(INDUSTRY_TEMPLATES[template]):
        _obj, was_created = CustomField.objects.get_or_create(
            organisation=organisation,
            key=spec["key"],
            defaults={
                "label": spec["label"],
                "type": spec.get("type", "text"),
                "choices": spec.get("choices", []),
                "group": spec.get("group", "other"),
                "position": position,
                "template": template,
            },
        )
        created += was_created
    return created


# --- archive fields (自定义档案字段) ---------------------------------------------------------
# A field's key (where its values live in Customer.custom) is made here, never typed or shown:
# people see the label. Deactivating removes the field from forms, the customer page, segments
# and exports; the values already kept on customers stay in their archive, and adding a field of
# the same label again brings them back.

CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTI)


def _new_key(organisation: Organisation, label: str) -> str:
    """The same label gives the same key, so a field added again finds its kept values."""
    taken = set(CustomField.objects.filter(organisation=organisation).values_list("key", flat=True))
    base = slugify(label).replace("-", "_")[:30]
    if not base or not base.isascii():
        base = "f" + hashlib.sha1(label.encode()).hexdigest()[:10]
    if base not in taken:
        return base
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _check_custom_field(field: CustomField) -> None:
    label = (field.label or "").strip()
    if not label:
        raise ValidationError({"label": _("Give the field a name.")})
    field.label = label
    duplicate = CustomField.objects.filter(
        organisation_id=field.organisation_id, label=label
    ).exclude(pk=field.pk)
    if duplicate.filter(active=False).exists():
        raise ValidationError(
            {
                "label": _(
                    "There is already a deactivated field called “%(l)s”: reactivate it on "
                    "the list of fields."
                )
                % {"l": label}
            }
        )
    if duplicate.exists():
        raise ValidationError(
            {"label": _("There is already a field called “%(l)s”.") % {"l": label}}
        )
    cleaned = [c.strip() for c in field.choices or [] if str(c).strip()]
    field.choices = list(dict.fromkeys(cleaned))
    if field.type in CHOICE_TYPES and len(field.choices) < 2:
        raise ValidationError(
            {"choices": _("A choice field needs at least two choices, one a line.")}
        )
    if field.type not in CHOICE_TYPES:
        field.choices = []


def do_save_custom_field(field: CustomField, *, actor: Any, request: Any = None) -> CustomField:
    """Create or change an archive field (its type stays what it was created with)."""
    _check_custom_field(field)
    with transaction.atomic():
        created = field.pk is None
        if created:
            field.key = _new_key(field.organisation, field.label)
            last = CustomField.objects.filter(organisation_id=field.organisation_id).count()
            field.position = last
            before: dict[str, Any] = {}
        else:
            old = CustomField.objects.get(pk=field.pk)
            field.type = old.type
            field.key = old.key
            before = {"label": old.label, "choices": old.choices, "group": old.group}
        field.save()
        after = {"label": field.label, "choices": field.choices, "group": field.group}
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        record_audit(
            actor=actor,
            organisation=field.organisation,
            action="custom_field_create" if created else "custom_field_edit",
            target=field,
            request=request,
            detail=changes,
        )
    return field


def do_deactivate_custom_field(field: CustomField, *, actor: Any, request: Any = None) -> None:
    """Take the field off the forms and the customer page; the definition and customers' values
    for it are kept, so it can be switched on again (do_reactivate_custom_field)."""
    _set_custom_field_active(field, False, actor=actor, request=request)


def do_reactivate_custom_field(field: CustomField, *, actor: Any, request: Any = None) -> None:
    """Bring a deactivated field back on the forms and the customer page, with its values."""
    _set_custom_field_active(field, True, actor=actor, request=request)


def _set_custom_field_active(
    field: CustomField, active: bool, *, actor: Any, request: Any = None
) -> None:
    with transaction.atomic():
        changed = CustomField.objects.filter(pk=field.pk, active=not active).update(active=active)
        field.active = active
        if not changed:
            return  # already so: nothing to record
        record_audit(
            actor=actor,
            organisation=field.organisation,
            action="custom_field_reactivate" if active else "custom_field_remove",
            target=field,
            request=request,
            detail={"label": field.label},
        )
