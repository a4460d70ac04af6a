"""Every write of the member centre: join codes, scans, joining, consent, data requests."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation, Role, Store, User
from huitouke.audit.actions import client_ip, record_audit
from huitouke.automation.actions import do_save_rule, new_rule
from huitouke.automation.engine import on_customer_joined
from huitouke.automation.models import AutomationRule, Trigger
from huitouke.customers.actions import do_create_customer, set_tags
from huitouke.customers.changes import consent_of, customers_changed
from huitouke.customers.models import CalendarKind, Customer, CustomField, FieldType, Source
from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.loyalty.coupons import do_save_template
from huitouke.loyalty.models import CouponKind, CouponTemplate, Validity
from huitouke.members.models import (
    ConsentChannel,
    ConsentEvent,
    JoinCode,
    Member,
    MemberSession,
    SmsCode,
)
from huitouke.messaging.staff_task import create_staff_task

CONSENT_FIELDS = {
    ConsentChannel.SMS: "consent_sms",
    ConsentChannel.EMAIL: "consent_email",
    ConsentChannel.WECHAT: "consent_wechat",
}
WELCOME_RULE = "member_welcome"
WELCOME_COUPON = "9折新人券"


# --- join codes ------------------------------------------------------------------------------


def do_create_join_code(
    *,
    actor: User,
    store: Store,
    label: str,
    staff: User | None = None,
    source: str = Source.WALK_IN,
    fields: list[str] | None = None,
    request: Any = None,
) -> JoinCode:
    """A new join QR code for a store (or one of its staff); the welcome coupon rule comes with the first."""
    organisation = actor.organisation
    assert organisation is not None
    label = (label or "").strip()[:30]
    if not label:
        raise ValidationError({"label": _("Name the source, e.g. 门店海报 or 小美的二维码.")})
    if store.organisation_id != organisation.pk:
        raise ValidationError({"store": _("This belongs to another organisation.")})
    if staff is not None and staff.organisation_id != organisation.pk:
        raise ValidationError({"staff": _("This belongs to another organisation.")})
    if actor.role == Role.STAFF and (staff is None or staff.pk != actor.pk):
        raise ValidationError({"staff": _("You can make QR codes for yourself only.")})
    if actor.role == Role.MANAGER and store.pk != actor.store_id:
        raise ValidationError({"store": _("You can make QR codes for your own store only.")})
    if source not in Source.values:
        raise ValidationError({"source": _("Choose a source.")})
    known = set(CustomField.objects.filter(organisation=organisation).values_list("key", flat=True))
    chosen = [key for key in (fields or []) if key in known]
    with transaction.atomic():
        code = JoinCode.objects.create(
            organisation=organisation,
            store=store,
            staff=staff,
            label=label,
            source=source,
            fields=chosen,
        )
        ensure_welcome_rule(organisation, actor=actor)
        record_audit(
            actor=actor,
            organisation=organisation,
            action="join_code_create",
            target=code,
            request=request,
            detail={"store": store.pk, "staff": staff.pk if staff else None, "label": label},
        )
    return code


def ensure_welcome_rule(organisation: Organisation, *, actor: Any) -> Any:
    """Switch on the 9折新人券 rule (10 minutes after joining) once; an owner may switch it off later."""

    existing = AutomationRule.objects.filter(
        organisation=organisation, template_code=WELCOME_RULE
    ).first()
    if existing is not None:
        return existing
    coupon = CouponTemplate.objects.filter(organisation=organisation, name=WELCOME_COUPON).first()
    if coupon is None:
        coupon = do_save_template(
            CouponTemplate(
                organisation=organisation,
                name=WELCOME_COUPON,
                kind=CouponKind.PERCENT_OFF,
                percent_off=Decimal("10"),
                validity=Validity.DAYS,
                valid_days=30,
                per_customer_limit=1,
            ),
            actor=actor,
        )
    name = _("New member: welcome coupon, 10 percent off")
    if AutomationRule.objects.filter(organisation=organisation, name=name).exists():
        name = f"{name} ({WELCOME_RULE})"
    rule = new_rule(
        organisation,
        name=name,
        template_code=WELCOME_RULE,
        trigger=Trigger.CUSTOMER_JOINED,
        params={},
        delay_minutes=10,
        actions=[{"type": "issue_coupon", "coupon_template": coupon.pk}],
        # Promised on the join page: nobody is held out, and no message is needed to get it.
        holdout_share=Decimal("0"),
        is_marketing=False,
        is_active=True,
    )
    return do_save_rule(rule, actor=actor)


def do_record_scan(code: JoinCode) -> None:
    """Count one opening of the join page from this QR code."""
    JoinCode.objects.filter(pk=code.pk).update(scans=F("scans") + 1)


# --- joining -----------------------------------------------------------------------------------


def clean_birthday(
    kind: str, year: int | None, month: int | None, day: int | None, leap: bool, today: date
) -> dict[str, Any]:
    """Birthday fields checked (empty stays empty; a date that cannot exist is refused)."""
    if not month and not day and not year:
        return {}
    if kind not in CalendarKind.values:
        raise ValidationError({"birthday": _("Choose solar or lunar.")})
    if not month or not day:
        raise ValidationError({"birthday": _("Give the month and the day of your birthday.")})
    if year is not None and not 1900 <= year <= today.year:
        raise ValidationError({"birthday": _("The year of birth is not possible.")})
    if not 1 <= month <= 12:
        raise ValidationError({"birthday": _("The month must be between 1 and 12.")})
    if kind == CalendarKind.SOLAR:
        longest = calendar.monthrange(year or 2000, month)[1]
        if not 1 <= day <= longest:
            raise ValidationError(
                {"birthday": _("%(month)s/%(day)s is not a date.") % {"month": month, "day": day}}
            )
        if year is not None and date(year, month, day) > today:
            raise ValidationError({"birthday": _("The birthday cannot be in the future.")})
    elif not 1 <= day <= 30:
        raise ValidationError({"birthday": _("A lunar month has at most 30 days.")})
    return {
        "birthday_kind": kind,
        "birth_year": year,
        "birth_month": month,
        "birth_day": day,
        "birth_leap_month": bool(leap) and kind == CalendarKind.LUNAR,
    }


def clean_custom(code: JoinCode, raw: dict[str, Any]) -> dict[str, Any]:
    """The optional archive fields the code asks for, checked by their type."""
    values: dict[str, Any] = {}
    fields = CustomField.objects.filter(
        organisation_id=code.organisation_id, key__in=code.fields, active=True
    )
    for field in fields:
        value = raw.get(field.key)
        if value in (None, "", []):
            continue
        if field.type == FieldType.MULTI:
            items = value if isinstance(value, list) else [value]
            if any(item not in field.choices for item in items):
                raise ValidationError({field.key: _("Choose from the list.")})
            values[field.key] = items
        elif field.type == FieldType.CHOICE:
            if value not in field.choices:
                raise ValidationError({field.key: _("Choose from the list.")})
            values[field.key] = value
        elif field.type == FieldType.NUMBER:
            try:
                number = Decimal(str(value).replace(",", "").strip())
            except InvalidOperation as exc:
                raise ValidationError({field.key: _("Enter a number.")}) from exc
            values[field.key] = str(number)
        elif field.type == FieldType.DATE:
            try:
                values[field.key] = date.fromisoformat(str(value)).isoformat()
            except ValueError as exc:
                raise ValidationError({field.key: _("Enter a date.")}) from exc
        else:
            values[field.key] = str(value).strip()[:200]
    return values


def _record_consents(
    customer: Customer, consents: dict[str, bool], *, source: str, request: Any, now: Any
) -> None:
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            organisation_id=customer.organisation_id,
            customer=customer,
            channel=channel,
            granted=bool(consents.get(channel)),
            source=source,
            ip=client_ip(request),
            at=now,
        )
        for channel in CONSENT_FIELDS
    )


def do_join(
    *,
    code: JoinCode,
    phone: str,
    name: str,
    birthday: dict[str, Any],
    custom: dict[str, Any],
    consents: dict[str, bool],
    request: Any = None,
) -> tuple[Customer, bool]:
    """Make her a member: link the customer with this phone, or create her; returns (customer, new).

    A new customer is owned by the code's staff member and tagged with the code's label; an
    existing one keeps her owner and her data (only blanks are filled). Consent is what she
    ticked, recorded with the time and the place. The "customer joined" trigger fires once.
    """

    now = timezone.now()
    name = (name or "").strip()[:100]
    organisation = code.organisation
    with transaction.atomic():
        customer = Customer.objects.active().filter(organisation=organisation, phone=phone).first()
        if customer is not None and Member.objects.filter(customer=customer).exists():
            return customer, False  # a member signing in again: nothing of hers changes
        created = customer is None
        consent_values: dict[str, Any] = {
            field: bool(consents.get(ch)) for ch, field in CONSENT_FIELDS.items()
        }
        if customer is None:
            if not name:
                raise ValidationError({"name": _("Tell us your name.")})
            customer = do_create_customer(
                organisation=organisation,
                actor=None,
                name=name,
                phone=phone,
                owner=code.staff,
                home_store=code.store,
                source=code.source,
                custom=custom,
                **birthday,
                **consent_values,
            )
            set_tags(customer, [code.label])
        else:
            changed: dict[str, Any] = dict(consent_values)
            if birthday and not customer.has_birthday:
                changed.update(birthday)
            merged_custom = {**custom, **customer.custom}
            if merged_custom != customer.custom:
                changed["custom"] = merged_custom
            for key, value in changed.items():
                setattr(customer, key, value)
            customer.consent_updated_at = now
            customer.save(update_fields=[*changed, "consent_updated_at", "updated_at"])
        Customer.objects.filter(pk=customer.pk).update(consent_updated_at=now)
        _record_consents(customer, consents, source="join", request=request, now=now)
        try:
            with transaction.atomic():
                Member.objects.create(
                    customer=customer,
                    organisation=organisation,
                    join_code=code,
                    linked_existing=not created,
                    joined_at=now,
                )
        except IntegrityError:
            return customer, False  # already a member: signing in again
        JoinCode.objects.filter(pk=code.pk).update(joins=F("joins") + 1)
        on_customer_joined(customer)
        record_audit(
            actor=None,
            organisation=organisation,
            action="member_join",
            target=customer,
            request=request,
            detail={"join_code": code.pk, "new_customer": created},
        )
    return customer, created


# --- her own choices -----------------------------------------------------------------------------


def do_set_consent(
    customer: Customer, *, channel: str, granted: bool, request: Any = None
) -> Customer:
    """She agrees to, or withdraws, marketing on one channel (one tap); recorded with source and time."""
    if channel not in CONSENT_FIELDS:
        raise ValidationError({"channel": _("Choose a channel.")})
    field = CONSENT_FIELDS[ConsentChannel(channel)]
    now = timezone.now()
    with transaction.atomic():
        before = consent_of([customer.pk]).get(customer.pk)
        Customer.objects.filter(pk=customer.pk).update(
            **{field: granted, "consent_updated_at": now, "updated_at": now}
        )
        setattr(customer, field, granted)
        after = consent_of([customer.pk])
        customers_changed(
            customer.organisation_id,
            updated=[customer.pk],
            consent=after if after.get(customer.pk) != before else None,
        )
        ConsentEvent.objects.create(
            organisation_id=customer.organisation_id,
            customer=customer,
            channel=channel,
            granted=granted,
            source="member_page",
            ip=client_ip(request),
            at=now,
        )
        record_audit(
            actor=None,
            organisation=customer.organisation,
            action="consent_given" if granted else "consent_withdrawn",
            target=customer,
            request=request,
            detail={"channel": channel, "source": "member_page"},
        )
    return customer


DATA_REQUEST_TITLES = {
    "see": "会员申请查看个人信息",
    "delete": "会员申请删除个人信息",
}


def do_request_data(customer: Customer, *, kind: str, request: Any = None) -> bool:
    """Her request to see or delete her data becomes a task for the shop owner; False if one is open."""

    if kind not in DATA_REQUEST_TITLES:
        raise ValidationError({"kind": _("Choose what you would like us to do.")})
    title = DATA_REQUEST_TITLES[kind]
    with transaction.atomic():
        if FollowUpTask.objects.filter(
            customer=customer, title=title, status=TaskStatus.OPEN
        ).exists():
            return False
        create_staff_task(
            customer,
            title=title,
            script=(
                f"{customer.name}（{customer.phone or ''}）在会员页面提交了申请："
                f"{'查看她的个人信息（《个人信息保护法》第45条）' if kind == 'see' else '删除她的个人信息（《个人信息保护法》第47条）'}。"
                "请尽快联系她并处理。"
            ),
            due_at=timezone.now() + timedelta(days=3),
            kind="other",
            assign_to="org_owner",
        )
        record_audit(
            actor=None,
            organisation=customer.organisation,
            action=f"data_request_{kind}",
            target=customer,
            request=request,
        )
    return True


def do_purge_expired(*, now: Any = None) -> int:
    """Delete expired member sessions and SMS codes past the longest limit window (one day)."""

    now = now or timezone.now()
    sessions, _rows = MemberSession.objects.filter(expires_at__lte=now).delete()
    codes, _rows = SmsCode.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    return sessions + codes
