"""PIPL (个人信息保护法): everything held about one customer, and her erasure.

`personal_data` gathers what the shop holds about her (profile, orders, points, coupons,
messages, consents and opt-outs, contacts, tasks, the audit log about her) for the owner to hand
over (PIPL art. 45). `do_erase_customer` removes her (art. 47): personal fields anonymised,
orders, refunds, points and coupons kept as anonymous money records so every sum still adds up,
messages, contacts, tasks, consents and member sign-ins removed, and the act audited as
`customer_anonymised` (which the integrations hooks turn into the change feed's tombstone).

`Customer.erased_at` says when she was erased (shown on her privacy page and her orders). She is
also marked as merged into herself: she leaves every list, search, segment, rule and feed the way
a merged duplicate does, while her orders keep pointing at the anonymous row.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from huitouke.accounts.models import Role
from huitouke.audit.actions import record_audit
from huitouke.audit.models import AuditEntry
from huitouke.customers import events
from huitouke.customers.models import Customer

ANONYMOUS_NAME = "已删除客户"

# (section, app label, model, field naming the customer): the rows exported about her.
SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("orders", "sales", "Order", "customer"),
    ("order_lines", "sales", "OrderLine", "order__customer"),
    ("refunds", "sales", "Refund", "order__customer"),
    ("interactions", "customers", "Interaction", "customer"),
    ("family", "customers", "FamilyMember", "customer"),
    ("ownership_history", "customers", "OwnershipChange", "customer"),
    ("points", "loyalty", "PointsEntry", "customer"),
    ("loyalty_account", "loyalty", "LoyaltyAccount", "customer"),
    ("tier_changes", "loyalty", "TierChange", "customer"),
    ("coupons", "loyalty", "Coupon", "customer"),
    ("messages", "messaging", "Message", "customer"),
    ("opt_outs", "messaging", "OptOut", "customer"),
    ("consent_events", "members", "ConsentEvent", "customer"),
    ("member", "members", "Member", "customer"),
    ("tasks", "followups", "FollowUpTask", "customer"),
    ("automation_enrolments", "automation", "Enrolment", "customer"),
    ("wecom_contacts", "wecom", "WeComContact", "customer"),
    ("payer_aliases", "imports", "PayerAlias", "customer"),
)

# Removed on erasure: what says something about her beyond money.
REMOVED = (
    ("customers", "Interaction"),
    ("customers", "FamilyMember"),
    ("messaging", "Message"),
    ("messaging", "OptOut"),
    ("members", "ConsentEvent"),
    ("members", "MemberSession"),
    ("members", "Member"),
    ("followups", "FollowUpTask"),
    ("wecom", "WeComContact"),
    ("imports", "PayerAlias"),
)

PERSONAL_FIELDS: dict[str, Any] = {
    "external_id": "",
    "phone": None,
    "wechat_id": "",
    "gender": "",
    "ethnicity": "",
    "city": "",
    "city_tier": None,
    "address": "",
    "email": "",
    "referrer": None,
    "budget": None,
    "notes": "",
    "owner": None,
    "consent_sms": False,
    "consent_email": False,
    "consent_wechat": False,
    "custom": {},
    "birthday_kind": "solar",
    "birth_year": None,
    "birth_month": None,
    "birth_day": None,
    "birth_leap_month": False,
}


def _require_owner(actor: Any, customer: Customer) -> None:
    if (
        getattr(actor, "role", None) != Role.OWNER
        or actor.organisation_id != customer.organisation_id
    ):
        raise PermissionDenied


def _model(app_label: str, name: str) -> Any:
    if not apps.is_installed(f"huitouke.{app_label}"):
        return None
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def personal_data(customer: Customer) -> dict[str, Any]:
    """Everything held about her, as plain JSON-ready lists of rows (one dict per row)."""
    profile = Customer.objects.filter(pk=customer.pk).values().get()
    data: dict[str, Any] = {
        "generated_at": timezone.now(),
        "customer": profile,
        "tags": sorted(customer.tags.values_list("name", flat=True)),
    }
    stats = getattr(customer, "stats", None)
    if stats is not None:
        data["stats"] = type(stats).objects.filter(pk=stats.pk).values().get()
    for section, app_label, name, lookup in SECTIONS:
        model = _model(app_label, name)
        if model is not None:
            data[section] = list(model.objects.filter(**{lookup: customer}).order_by("pk").values())
    data["audit"] = list(
        AuditEntry.objects.filter(
            organisation_id=customer.organisation_id,
            object_type="customer",
            object_id=str(customer.pk),
        )
        .order_by("at", "id")
        .values("at", "action", "actor_id", "ip", "detail")
    )
    return data


def do_export_customer_data(customer: Customer, *, actor: Any, request: Any = None) -> bytes:
    """The owner's download of everything held about her (JSON, UTF-8); audited."""
    _require_owner(actor, customer)
    data = personal_data(customer)
    with transaction.atomic():
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="customer_data_export",
            target=customer,
            request=request,
            detail={k: len(v) for k, v in data.items() if isinstance(v, list)},
        )
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode()


def do_erase_customer(customer: Customer, *, actor: Any, request: Any = None) -> Customer:
    """Anonymise her and remove what is not a money record; audited as customer_anonymised."""
    _require_owner(actor, customer)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.erased_at is not None or customer.merged_into_id is not None:
            raise PermissionDenied  # already erased, or merged into another
        removed: dict[str, int] = {}
        removed_ids: dict[str, list[int]] = {}
        for app_label, name in REMOVED:
            model = _model(app_label, name)
            if model is not None:
                rows = model.objects.filter(customer=customer)
                removed_ids[name] = list(rows.values_list("pk", flat=True))
                count, _rows = rows.delete()
                removed[name] = count
        customer.tags.clear()
        for field, value in PERSONAL_FIELDS.items():
            setattr(customer, field, value)
        customer.name = f"{ANONYMOUS_NAME} #{customer.pk}"
        customer.consent_updated_at = timezone.now()
        customer.erased_at = timezone.now()
        customer.merged_into = customer  # out of every list (see Customer.erased_at)
        customer.save()
        # The audit log keeps what happened, but no longer her name.
        AuditEntry.objects.filter(
            organisation_id=customer.organisation_id,
            object_type="customer",
            object_id=str(customer.pk),
        ).update(object_repr=customer.name)
        events.customer_erased.send(Customer, customer=customer, removed=removed_ids)
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="customer_anonymised",
            target=customer,
            request=request,
            detail={"removed": removed},
        )
    return customer
