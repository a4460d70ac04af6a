"""Every write to coupons: templates, issuing (quota and per-customer limit), redeeming, voiding, expiry.

Correctness under concurrency comes from conditional UPDATEs whose row count is checked, which
behave the same on SQLite and PostgreSQL: a coupon is claimed with `UPDATE … WHERE
status='issued'`, a quota with `UPDATE … SET issued_count = issued_count + 1 WHERE
issued_count < quota`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from huitouke.audit.actions import record_audit
from huitouke.core.locks import lock_loyalty_account
from huitouke.customers.models import Customer
from huitouke.loyalty import events
from huitouke.loyalty.models import (
    ZERO,
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    Tier,
    Validity,
)
from huitouke.loyalty.program import ensure_program
from huitouke.sales.models import Order

# No 0/O, 1/I/L: codes are read aloud and typed at the till. 31 symbols ** 12 ≈ 2 ** 59.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def new_code() -> str:
    """A random, unguessable coupon code."""
    return "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """Codes are matched without spaces, dashes or case."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def _local(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone)


def validity_window(
    template: CouponTemplate, issued_at: datetime, time_zone: str
) -> tuple[datetime, datetime]:
    """(valid from, valid until) of a coupon issued at `issued_at`; fixed dates are whole local days."""
    if template.validity == Validity.FIXED:
        zone = _local(time_zone)
        start = (
            datetime.combine(template.valid_from, time.min, zone)
            if template.valid_from
            else issued_at
        )
        if template.valid_until is None:
            raise ValidationError(
                {"valid_until": _("A coupon with fixed dates needs its last day.")}
            )
        end = datetime.combine(template.valid_until + timedelta(days=1), time.min, zone)
        return start, end
    return issued_at, issued_at + timedelta(days=template.valid_days or 1)


def clean_template(template: CouponTemplate) -> None:
    """Refuse a template whose values do not make a usable coupon."""
    errors: dict[str, str] = {}
    if template.kind in (CouponKind.AMOUNT_OFF, CouponKind.NO_THRESHOLD) and not template.amount:
        errors["amount"] = _("Enter the amount off.")
    if (
        template.kind == CouponKind.AMOUNT_OFF
        and template.amount
        and template.threshold < template.amount
    ):
        errors["threshold"] = _("The minimum spend must be at least the amount off (满150减30).")
    if template.kind == CouponKind.PERCENT_OFF and not template.percent_off:
        errors["percent_off"] = _("Enter the percent off.")
    if template.validity == Validity.FIXED:
        if template.valid_until is None:
            errors["valid_until"] = _("Enter the last day the coupon can be used.")
        elif template.valid_from and template.valid_from > template.valid_until:
            errors["valid_from"] = _("The first day comes after the last day.")
    elif not template.valid_days:
        errors["valid_days"] = _("Enter for how many days a coupon stays valid.")
    if template.quota is not None and template.quota < template.issued_count:
        errors["quota"] = _("%(n)s coupons have already been issued.") % {
            "n": template.issued_count
        }
    if errors:
        raise ValidationError(errors)


def do_save_template(
    template: CouponTemplate,
    *,
    actor: Any,
    categories: Iterable[Any] | None = None,
    request: Any = None,
) -> CouponTemplate:
    """Create or change a coupon template; audited."""
    clean_template(template)
    if template.kind == CouponKind.NO_THRESHOLD:
        template.threshold = ZERO
    with transaction.atomic():
        created = template.pk is None
        if created and getattr(actor, "pk", None):
            template.created_by = actor
        template.save()
        if categories is not None:
            template.categories.set(categories)
        record_audit(
            actor=actor,
            organisation=template.organisation,
            action="coupon_template_create" if created else "coupon_template_edit",
            target=template,
            request=request,
            detail={"name": template.name},
        )
    return template


def _tier_reached(customer: Customer, minimum: Tier | None) -> bool:
    if minimum is None or minimum.threshold <= 0:
        return True
    account = LoyaltyAccount.objects.filter(pk=customer.pk).select_related("tier").first()
    return bool(account and account.tier and account.tier.threshold >= minimum.threshold)


def _issue_one(
    template: CouponTemplate, customer: Customer, *, actor: Any, now: datetime, time_zone: str
) -> Coupon:
    if customer.organisation_id != template.organisation_id or customer.merged_into_id is not None:
        raise ValidationError({"customer": _("Unknown customer.")})
    if not template.is_active:
        raise ValidationError({"template": _("This coupon can no longer be issued.")})
    if not _tier_reached(customer, template.min_tier):
        raise ValidationError(
            {
                "customer": _("%(name)s is below the %(tier)s tier this coupon needs.")
                % {"name": customer.name, "tier": template.min_tier}
            }
        )
    valid_from, expires_at = validity_window(template, now, time_zone)
    if expires_at <= now:
        raise ValidationError({"template": _("This coupon's validity has already ended.")})
    with transaction.atomic():
        # The account row is the per-customer lock: two issues to one customer queue here, so the
        # per-customer count below cannot be passed twice (PostgreSQL); SQLite serialises anyway.
        lock_loyalty_account(customer.pk, customer.organisation_id)
        if template.per_customer_limit is not None:
            held = Coupon.objects.filter(template=template, customer=customer).count()
            if held >= template.per_customer_limit:
                raise ValidationError(
                    {
                        "customer": _(
                            "%(name)s already has %(n)s of this coupon (the limit per customer)."
                        )
                        % {"name": customer.name, "n": held}
                    },
                    code="per_customer_limit",
                )
        quota = Q() if template.quota is None else Q(issued_count__lt=F("quota"))
        if not CouponTemplate.objects.filter(quota, pk=template.pk).update(
            issued_count=F("issued_count") + 1
        ):
            raise ValidationError(
                {
                    "template": _("All %(n)s coupons of this kind have been issued.")
                    % {"n": template.quota}
                },
                code="quota",
            )
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return Coupon.objects.create(
                        organisation_id=template.organisation_id,
                        template=template,
                        customer=customer,
                        code=new_code(),
                        valid_from=valid_from,
                        expires_at=expires_at,
                        issued_at=now,
                        issued_by=actor if getattr(actor, "pk", None) else None,
                    )
            except IntegrityError:  # a code collision: draw another
                continue
    raise RuntimeError("could not draw a unique coupon code")


def do_issue_coupon(
    template: CouponTemplate,
    customer: Customer,
    *,
    actor: Any,
    request: Any = None,
    now: datetime | None = None,
) -> Coupon:
    """Issue one coupon to one customer; refused with a message past the quota or the per-customer limit."""
    now = now or timezone.now()
    time_zone = customer.organisation.time_zone
    with transaction.atomic():
        coupon = _issue_one(template, customer, actor=actor, now=now, time_zone=time_zone)
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="coupon_issue",
            target=customer,
            request=request,
            detail={"template": template.pk, "coupons": 1},
        )
    return coupon


@dataclass
class IssueResult:
    issued: list[Coupon] = field(default_factory=list)
    skipped: list[tuple[Customer, str]] = field(default_factory=list)


def do_issue_coupons(
    template: CouponTemplate,
    customers: Iterable[Customer],
    *,
    actor: Any,
    request: Any = None,
    now: datetime | None = None,
) -> IssueResult:
    """Issue a coupon to each customer of a list; those refused (limit, quota, tier) are reported."""
    now = now or timezone.now()
    result = IssueResult()
    time_zone = template.organisation.time_zone
    for customer in customers:
        try:
            result.issued.append(
                _issue_one(template, customer, actor=actor, now=now, time_zone=time_zone)
            )
        except ValidationError as exc:
            result.skipped.append((customer, " ".join(exc.messages)))
    if result.issued:
        record_audit(
            actor=actor,
            organisation=template.organisation,
            action="coupon_issue",
            target=template,
            request=request,
            detail={
                "template": template.pk,
                "coupons": len(result.issued),
                "skipped": len(result.skipped),
            },
        )
    return result


def _day(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "Y-m-d")


def refusal(coupon: Coupon, customer: Customer | None, now: datetime) -> str | None:
    """Why this coupon cannot be used by this customer now (None: it can)."""
    if customer is None:
        return _("Coupons and points need a customer: enter her phone.")
    if coupon.customer_id != customer.pk:
        return _("This coupon belongs to another customer.")
    if coupon.status == CouponStatus.REDEEMED:
        return _("This coupon has already been used.")
    if coupon.status == CouponStatus.VOID:
        return _("This coupon was voided.")
    if coupon.status == CouponStatus.EXPIRED or coupon.expires_at <= now:
        return _("This coupon expired on %(day)s.") % {
            "day": _day(coupon.expires_at - timedelta(seconds=1))
        }
    if coupon.valid_from > now:
        return _("This coupon can be used from %(day)s.") % {"day": _day(coupon.valid_from)}
    return None


def find_coupon(organisation_id: int, code: str) -> Coupon:
    """The organisation's coupon with this code, or a ValidationError."""
    coupon = (
        Coupon.objects.select_related("template", "template__min_tier")
        .filter(organisation_id=organisation_id, code=normalise_code(code))
        .first()
    )
    if coupon is None:
        raise ValidationError(
            {"coupon": _("No coupon has the code “%(code)s”.") % {"code": code.strip()[:30]}}
        )
    return coupon


def redeemed(coupon: Coupon, order: Order | None) -> None:
    """Announce a coupon just claimed (call in the claim's transaction, once the order is known):
    the quick order (checkout.do_checkout) and do_redeem_coupon both come through here."""

    events.coupon_redeemed.send(sender=Coupon, coupon=coupon, order=order)


def claim(coupon: Coupon, *, customer: Customer, now: datetime, order: Order | None = None) -> None:
    """Mark the coupon used, once: the conditional UPDATE lets exactly one of many callers through."""
    claimed = Coupon.objects.filter(
        pk=coupon.pk,
        status=CouponStatus.ISSUED,
        customer=customer,
        valid_from__lte=now,
        expires_at__gt=now,
    ).update(status=CouponStatus.REDEEMED, redeemed_at=now, order=order)
    if claimed != 1:
        coupon.refresh_from_db()
        reason = refusal(coupon, customer, now) or _("This coupon has already been used.")
        raise ValidationError({"coupon": reason}, code="coupon_unusable")


def do_redeem_coupon(
    *,
    organisation_id: int,
    code: str,
    customer: Customer,
    actor: Any,
    order: Order | None = None,
    request: Any = None,
    now: datetime | None = None,
) -> Coupon:
    """Use a coupon outside the quick order (at another till, or for an order already recorded)."""
    now = now or timezone.now()
    coupon = find_coupon(organisation_id, code)
    reason = refusal(coupon, customer, now)
    if reason:
        raise ValidationError({"coupon": reason})
    if order is not None:
        if order.customer_id != customer.pk:
            raise ValidationError({"order_id": _("This order belongs to another customer.")})
        if Coupon.objects.filter(order=order).exists():
            raise ValidationError({"order_id": _("This order already used a coupon.")})
    with transaction.atomic():
        claim(coupon, customer=customer, now=now, order=order)
        record_audit(
            actor=actor,
            organisation=customer.organisation,
            action="coupon_redeem",
            target=customer,
            request=request,
            detail={"coupon": coupon.pk, "order": order.pk if order else None},
        )
        redeemed(coupon, order)
    coupon.refresh_from_db()
    return coupon


def do_void_coupon(coupon: Coupon, *, actor: Any, reason: str = "", request: Any = None) -> Coupon:
    """Cancel an unused coupon; a used one stays as it is."""
    with transaction.atomic():
        voided = Coupon.objects.filter(pk=coupon.pk, status=CouponStatus.ISSUED).update(
            status=CouponStatus.VOID,
            voided_at=timezone.now(),
            void_reason=(reason or "")[:200],
            updated_at=timezone.now(),  # .update() skips auto_now: the coupon feed shows the void
        )
        if not voided:
            raise ValidationError(_("Only an unused coupon can be voided."))
        record_audit(
            actor=actor,
            organisation=coupon.template.organisation,
            action="coupon_void",
            target=coupon.customer,
            request=request,
            detail={"coupon": coupon.pk, "reason": (reason or "")[:200]},
        )
    coupon.refresh_from_db()
    return coupon


def do_expire_coupons(*, now: datetime | None = None) -> int:
    """Mark unused coupons past their validity as expired (the daily job)."""
    now = now or timezone.now()
    return Coupon.objects.filter(status=CouponStatus.ISSUED, expires_at__lte=now).update(
        status=CouponStatus.EXPIRED, updated_at=timezone.now()
    )


def return_coupon(order: Order, *, now: datetime | None = None) -> int:
    """A fully refunded order gives its coupon back when the organisation says so and it is still valid."""
    now = now or timezone.now()
    rules = ensure_program(order.organisation_id)
    if not rules.return_coupon_on_refund:
        return 0
    return Coupon.objects.filter(
        order=order, status=CouponStatus.REDEEMED, expires_at__gt=now
    ).update(status=CouponStatus.ISSUED, redeemed_at=None, order=None)


def move_coupons(keep: Customer, duplicate: Customer) -> int:
    """The duplicate's coupons become the kept customer's (inside a merge)."""
    return Coupon.objects.filter(customer=duplicate).update(
        customer=keep, updated_at=timezone.now()
    )
