"""API: members' tiers and points, coupon templates and coupons; customers always within `visible_to`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from huitouke.accounts.auth import api_user, require_manager
from huitouke.accounts.models import User
from huitouke.core.problems import Problem
from huitouke.customers.models import Customer
from huitouke.loyalty import coupons
from huitouke.loyalty.actions import do_adjust_points, do_redeem_points
from huitouke.loyalty.models import (
    Coupon,
    CouponStatus,
    CouponTemplate,
    LoyaltyAccount,
    PointsEntry,
)
from huitouke.loyalty.program import ensure_program
from huitouke.loyalty.queries import tier_progress, usable_coupons
from huitouke.loyalty.schemas import (
    AwardIn,
    CouponOut,
    CouponTemplateOut,
    IssueIn,
    IssueOut,
    LoyaltyOut,
    PointsEntryOut,
    PointsIn,
    RedeemCouponIn,
    VoidCouponIn,
)
from huitouke.sales.models import Order
from huitouke.schemas import ObjectId, Page, Paging, page_of

router = Router(tags=["loyalty"])


def _customer(user: User, customer_id: int) -> Customer:
    """A customer the caller may see, or 404 (another scope's customers do not exist here)."""
    customer = Customer.objects.visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {names.get(field, field): messages for field, messages in exc.message_dict.items()}
    )


@router.get("/customers/{customer_id}/loyalty", response=LoyaltyOut)
def get_loyalty(request: HttpRequest, customer_id: ObjectId) -> dict[str, Any]:
    """Her tier, the spend still needed for the next tier, her points and usable coupons."""
    customer = _customer(api_user(request), customer_id)
    ensure_program(customer.organisation_id)
    account = LoyaltyAccount.objects.filter(pk=customer.pk).select_related("tier").first()
    progress = tier_progress(customer)
    return {
        "customer_id": customer.pk,
        "tier": account.tier if account and account.tier else progress["tier"],
        "next_tier": progress["next_tier"],
        "spend_12m": progress["spend_12m"],
        "gap": progress["gap"],
        "gap_message": progress["gap_message"],
        "points": account.balance if account else 0,
        "points_owed": account.debt if account else 0,
        "usable_coupons": list(usable_coupons(customer)),
    }


@router.get("/customers/{customer_id}/points", response=Page[PointsEntryOut])
def list_points(
    request: HttpRequest, customer_id: ObjectId, paging: Query[Paging]
) -> dict[str, Any]:
    """Her points ledger, newest first."""
    customer = _customer(api_user(request), customer_id)
    return page_of(
        PointsEntry.objects.filter(customer=customer).order_by("-created_at", "-id"), paging
    )


@router.post("/customers/{customer_id}/points/award", response={201: PointsEntryOut})
def award_points(request: HttpRequest, customer_id: ObjectId, payload: AwardIn) -> PointsEntry:
    """Give her points, with a reason (owner and managers); audited."""
    user = api_user(request)
    customer = _customer(user, customer_id)
    require_manager(user, _("Only the owner or a store manager can award points."))
    return do_adjust_points(
        customer, points=payload.points, reason=payload.reason, actor=user, request=request
    )


@router.post("/customers/{customer_id}/points/redeem", response={201: PointsEntryOut})
def redeem_points(request: HttpRequest, customer_id: ObjectId, payload: PointsIn) -> PointsEntry:
    """Spend her points (a gift, a service); refused, changing nothing, beyond her balance."""
    user = api_user(request)
    customer = _customer(user, customer_id)
    return do_redeem_points(customer, points=payload.points, reason=payload.reason, actor=user)


@router.get("/customers/{customer_id}/coupons", response=list[CouponOut])
def list_coupons(request: HttpRequest, customer_id: ObjectId) -> Any:
    """All her coupons, newest first."""
    customer = _customer(api_user(request), customer_id)
    return (
        Coupon.objects.filter(customer=customer)
        .select_related("template")
        .order_by("-issued_at", "-id")
    )


@router.get("/coupon-templates", response=list[CouponTemplateOut])
def list_templates(request: HttpRequest) -> Any:
    """The organisation's coupon templates (owner and managers)."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a store manager can see coupon templates."))
    return CouponTemplate.objects.filter(organisation_id=user.organisation_id).prefetch_related(
        "categories"
    )


@router.post("/coupon-templates/{template_id}/issue", response={201: IssueOut})
def issue_coupons(request: HttpRequest, template_id: ObjectId, payload: IssueIn) -> dict[str, Any]:
    """Issue the coupon to each customer listed; those refused (limit, quota, tier) are reported, not failed."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a store manager can issue coupons."))
    template = CouponTemplate.objects.filter(
        organisation_id=user.organisation_id, pk=template_id
    ).first()
    if template is None:
        raise Http404
    wanted = list(dict.fromkeys(payload.customer_ids))
    found = Customer.objects.visible_to(user).in_bulk(wanted)
    unknown = [pk for pk in wanted if pk not in found]
    if unknown:
        raise ValidationError(
            {
                "customer_ids": _("Unknown customers: %(ids)s")
                % {"ids": ", ".join(map(str, unknown[:20]))}
            }
        )
    result = coupons.do_issue_coupons(
        template, [found[pk] for pk in wanted], actor=user, request=request
    )
    return {
        "issued": result.issued,
        "skipped": [{"customer_id": c.pk, "message": message} for c, message in result.skipped],
    }


@router.post("/coupons/redeem", response=CouponOut)
def redeem_coupon(request: HttpRequest, payload: RedeemCouponIn) -> Coupon:
    """Use a coupon by its code, once; a second attempt is refused with “already used”."""
    user = api_user(request)
    customer = _customer(user, payload.customer_id)
    order = None
    if payload.order_id is not None:
        order = Order.objects.visible_to(user).filter(pk=payload.order_id).first()
        if order is None:
            raise ValidationError({"order_id": _("Unknown order.")})
    try:
        return coupons.do_redeem_coupon(
            organisation_id=user.organisation_id or 0,
            code=payload.code,
            customer=customer,
            actor=user,
            order=order,
            request=request,
        )
    except ValidationError as exc:
        used = Coupon.objects.filter(
            organisation_id=user.organisation_id,
            code=coupons.normalise_code(payload.code),
            customer=customer,
            status=CouponStatus.REDEEMED,
        ).exists()
        if used and exc.message_dict.keys() == {"coupon"}:
            # Already used is a conflict with stored state, not bad input: 409 with its own code.
            raise Problem(
                "coupon_already_redeemed", " ".join(exc.message_dict["coupon"]), field="code"
            ) from exc
        raise _renamed(exc, {"coupon": "code"}) from exc


@router.post("/coupons/void", response=CouponOut)
def void_coupon(request: HttpRequest, payload: VoidCouponIn) -> Coupon:
    """Cancel an unused coupon (owner and managers)."""
    user = api_user(request)
    require_manager(user, _("Only the owner or a store manager can void coupons."))
    try:
        coupon = coupons.find_coupon(user.organisation_id or 0, payload.code)
        if not Customer.objects.visible_to(user).filter(pk=coupon.customer_id).exists():
            raise ValidationError(
                {"coupon": _("No coupon has the code “%(code)s”.") % {"code": payload.code[:30]}}
            )
    except ValidationError as exc:
        raise _renamed(exc, {"coupon": "code"}) from exc
    return coupons.do_void_coupon(coupon, actor=user, reason=payload.reason, request=request)
