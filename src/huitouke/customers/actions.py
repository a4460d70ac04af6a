"""Every write to customers: create, edit, interactions, family, phone reveal, reads. Archive
fields are customers.archive_fields; handover and owner changes customers.ownership; merges
customers.duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huitouke.accounts.models import Organisation, Role
from huitouke.accounts.scoping import can_see_full_phone
from huitouke.audit.actions import audit_value, record_audit
from huitouke.customers import events
from huitouke.customers.models import (
    Customer,
    CustomerStats,
    FamilyMember,
    Interaction,
    Tag,
)
from huitouke.customers.ownership import OwnerChangeReason, do_change_owner
from huitouke.customers.phones import mask_phone
from huitouke.customers.validation import validate_customer, validate_phone

PROFILE_FIELDS = (
    "external_id",
    "name",
    "salutation_override",
    "phone",
    "wechat_id",
    "gender",
    "ethnicity",
    "city",
    "city_tier",
    "address",
    "email",
    "source",
    "referrer",
    "budget",
    "notes",
    "owner",
    "home_store",
    "consent_sms",
    "consent_email",
    "consent_wechat",
    "custom",
    "birthday_kind",
    "birth_year",
    "birth_month",
    "birth_day",
    "birth_leap_month",
)


def _check_phone_free(
    organisation_id: int, phone: str | None, exclude_pk: int | None = None
) -> None:
    if not phone:
        return
    clash = Customer.objects.active().filter(organisation_id=organisation_id, phone=phone)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    other = clash.first()
    if other is not None:
        raise ValidationError(
            {
                "phone": _("The phone %(phone)s already belongs to customer “%(name)s”.")
                % {"phone": phone, "name": other.name}
            },
            code="duplicate_phone",
        )


def _clean(
    organisation: Organisation, fields: dict[str, Any], exclude_pk: int | None = None
) -> dict[str, Any]:
    unknown = set(fields) - set(PROFILE_FIELDS) - {"tags"}
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    if "phone" in fields:
        fields["phone"] = validate_phone(fields["phone"] or "") or None
        _check_phone_free(organisation.pk, fields["phone"], exclude_pk)
    if "salutation_override" in fields:
        fields["salutation_override"] = (fields["salutation_override"] or "").strip()
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": pgettext("person", "The name is required.")})
    for key in ("owner", "home_store", "referrer"):
        obj = fields.get(key)
        if obj is not None and obj.organisation_id != organisation.pk:
            raise ValidationError({key: _("This belongs to another organisation.")})
    return fields


BIRTHDAY_FIELDS = ("birthday_kind", "birth_year", "birth_month", "birth_day", "birth_leap_month")


def _validate_profile(customer: Customer) -> None:
    """The rules of customers.validation on the values she would have after the write."""
    validate_customer(
        {name: getattr(customer, name) for name in (*BIRTHDAY_FIELDS, "budget")},
    )


CONSENT_CHANNELS = {"consent_sms": "sms", "consent_email": "email", "consent_wechat": "wechat"}


def _record_consent(
    customer: Customer, before: dict[str, bool] | None, *, source: str | None, actor: Any
) -> None:
    """Send the consent answers this write records: a consent given, or a change of answer.

    A new customer's unticked box is no answer (consent stays unknown); `source` None means the
    caller records the answers itself (the member centre).
    """
    if source is None:
        return
    answers = [
        (customer.pk, customer.organisation_id, channel, bool(getattr(customer, field)))
        for field, channel in CONSENT_CHANNELS.items()
        if (before is None and getattr(customer, field))
        or (before is not None and before[field] != getattr(customer, field))
    ]
    if not answers:
        return
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(consent_updated_at=now)
    customer.consent_updated_at = now
    events.consent_answered.send(
        sender=Customer,
        answers=answers,
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        at=now,
    )


def do_create_customer(
    *, organisation: Organisation, actor: Any, consent_source: str | None = None, **fields: Any
) -> Customer:
    """Create a customer (and her empty stats row); staff creating a customer own her by default.

    Marketing consent is unknown unless given: a consent field set to True is recorded as given
    by `consent_source` ("form", "api").
    """
    tags = fields.pop("tags", None)
    fields = _clean(organisation, fields)
    if "owner" not in fields and getattr(actor, "role", None) == Role.STAFF:
        fields["owner"] = actor
    if "home_store" not in fields and getattr(actor, "store_id", None):
        fields["home_store"] = actor.store
    customer = Customer(
        organisation=organisation,
        created_by=actor if getattr(actor, "pk", None) else None,
        **fields,
    )
    _validate_profile(customer)
    customer.full_clean(
        exclude=["organisation", "owner", "home_store", "referrer", "tags", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    try:
        with transaction.atomic():
            customer.save()
            CustomerStats.objects.create(customer=customer, organisation=organisation)
            if tags is not None:
                set_tags(customer, tags)
            _record_consent(customer, None, source=consent_source, actor=actor)
    except IntegrityError as exc:
        # Two people saving the same phone at the same moment: the constraint decides.
        raise ValidationError(
            {"phone": _("This phone or customer number is already in use.")}
        ) from exc
    return customer


def do_update_customer(
    customer: Customer,
    *,
    actor: Any,
    request: Any = None,
    consent_source: str | None = None,
    **fields: Any,
) -> Customer:
    """Edit a customer's profile; an owner change goes through do_change_owner, and the fields
    changed (old → new) go to the audit log as customer_edit.

    A consent that changes is recorded as given or withdrawn by `consent_source`.
    """
    tags = fields.pop("tags", None)
    consent_before = {f: bool(getattr(customer, f)) for f in CONSENT_CHANNELS}
    fields = _clean(customer.organisation, fields, exclude_pk=customer.pk)
    before = _profile_values(customer)
    old_tags = sorted(t.name for t in customer.tags.all()) if tags is not None else None
    owner_given = "owner" in fields
    new_owner = fields.pop("owner", None)
    for key, value in fields.items():
        setattr(customer, key, value)
    _validate_profile(customer)
    customer.full_clean(
        exclude=["organisation", "owner", "home_store", "referrer", "tags", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    try:
        with transaction.atomic():
            customer.save()
            if tags is not None:
                set_tags(customer, tags)
            _record_consent(customer, consent_before, source=consent_source, actor=actor)
            if owner_given:
                do_change_owner(customer, new_owner, actor=actor, reason=OwnerChangeReason.MANUAL)
            _audit_edit(customer, before, old_tags, actor=actor, request=request)
    except IntegrityError as exc:
        raise ValidationError(
            {"phone": _("This phone or customer number is already in use.")}
        ) from exc
    return customer


def _profile_values(customer: Customer) -> dict[str, Any]:
    values = {}
    for name in PROFILE_FIELDS:
        value = getattr(customer, Customer._meta.get_field(name).attname)  # type: ignore[union-attr]
        if name == "phone" and value:
            value = mask_phone(value)  # the audit log never holds a full number
        values[name] = audit_value(value)
    return values


def _audit_edit(
    customer: Customer,
    before: dict[str, Any],
    old_tags: list[str] | None,
    *,
    actor: Any,
    request: Any,
) -> None:
    after = _profile_values(customer)
    changes = {k: [before[k], after[k]] for k in PROFILE_FIELDS if before[k] != after[k]}
    if old_tags is not None:
        new_tags = sorted(t.name for t in customer.tags.all())
        if new_tags != old_tags:
            changes["tags"] = [old_tags, new_tags]
    if changes:
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="customer_edit",
            target=customer,
            request=request,
            detail={"changes": changes},
        )


def set_tags(customer: Customer, names: Sequence[str]) -> None:
    """Replace a customer's tags by names, creating tags that do not exist yet."""
    clean = sorted({n.strip()[:30] for n in names if n and n.strip()})
    tags = []
    for name in clean:
        tag, _created = Tag.objects.get_or_create(
            organisation_id=customer.organisation_id, name=name
        )
        tags.append(tag)
    customer.tags.set(tags)


def do_add_interaction(
    customer: Customer,
    *,
    actor: Any,
    kind: str,
    note: str = "",
    rating: int | None = None,
    occurred_at: Any = None,
) -> Interaction:
    """Write one contact on the customer's timeline."""
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError({"rating": _("The rating must be between 1 and 5.")})
    interaction = Interaction(
        organisation_id=customer.organisation_id,
        customer=customer,
        staff=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        note=note,
        rating=rating,
        occurred_at=occurred_at or timezone.now(),
    )
    interaction.full_clean(exclude=["organisation", "customer", "staff"])
    interaction.save()
    return interaction


def do_add_family_member(
    customer: Customer, member: FamilyMember, *, actor: Any, request: Any = None
) -> FamilyMember:
    """Add a family member (an unsaved, checked FamilyMember) to the customer; audited."""
    member.customer = customer
    with transaction.atomic():
        member.save()
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="family_member_add",
            target=customer,
            request=request,
            detail={"family_member": member.pk},
        )
    return member


def do_reveal_phone(customer: Customer, *, actor: Any, request: Any = None) -> str:
    """Return the full phone number and write the reveal to the audit log."""
    record_audit(
        actor=actor,
        organisation=customer.organisation,
        action="phone_reveal",
        target=customer,
        request=request,
    )
    return customer.phone or ""


def do_record_reads(*, actor: Any, customers: list[Any], request: Any, via: str) -> Any:
    """One entry per request that read customers' personal data in bulk: how many, and how many
    with the full phone number. Nothing when nothing was read."""
    if not customers:
        return None
    full = sum(1 for c in customers if c.phone and can_see_full_phone(actor, c))
    return record_audit(
        actor=actor,
        organisation=getattr(actor, "organisation", None),
        action="customers_read",
        target=customers[0] if len(customers) == 1 else None,
        request=request,
        detail={"count": len(customers), "full_phones": full, "via": via},
    )
