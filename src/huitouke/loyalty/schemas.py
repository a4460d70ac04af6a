"""API shapes of tiers, points, coupon templates and coupons."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema

from huitouke.loyalty.models import Coupon, CouponTemplate
from huitouke.schemas import ObjectId, Text

Points = Annotated[int, Field(ge=1, le=100_000_000)]
Reason = Annotated[Text, Field(max_length=200)]


class TierOut(Schema):
    id: int
    name: str
    threshold: Decimal = Field(
        description="trailing-12-month net spend from which the tier applies"
    )
    price_rate: Decimal = Field(description="share of the price members pay: 0.88 is 8.8折")
    points_multiplier: Decimal
    free_delivery: bool
    priority_service: bool
    birthday_gift: bool


class CouponOut(Schema):
    id: int
    code: str
    customer_id: int
    template_id: int
    description: str
    status: str
    valid_from: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    order_id: int | None

    @staticmethod
    def resolve_description(obj: Coupon) -> str:
        return obj.template.describe()


class LoyaltyOut(Schema):
    """A member's standing: tier, the spend still needed for the next one, points, usable coupons."""

    customer_id: int
    tier: TierOut | None
    next_tier: TierOut | None
    spend_12m: Decimal
    gap: Decimal = Field(description="spend still needed to reach next_tier (0 at the top)")
    gap_message: str = Field(description="再消费10元即可升级金卡, in the caller's language")
    points: int
    points_owed: int
    usable_coupons: list[CouponOut]


class PointsEntryOut(Schema):
    id: int
    customer_id: int
    kind: str
    points: int = Field(description="change of the balance")
    debt: int = Field(description="change of the points owed")
    balance_after: int
    expires_at: datetime | None
    order_id: int | None
    reason: str
    created_at: datetime


class PointsIn(Schema):
    points: Points
    reason: Reason = ""


class AwardIn(Schema):
    points: Points
    reason: Annotated[Text, Field(min_length=1, max_length=200)]


class CouponTemplateOut(Schema):
    id: int
    name: str
    kind: str
    description: str
    amount: Decimal | None
    percent_off: Decimal | None
    max_discount: Decimal | None
    threshold: Decimal
    validity: str
    valid_from: date | None
    valid_until: date | None
    valid_days: int | None
    per_customer_limit: int | None
    quota: int | None
    issued_count: int
    category_ids: list[int]
    min_tier_id: int | None
    is_active: bool

    @staticmethod
    def resolve_description(obj: CouponTemplate) -> str:
        return obj.describe()

    @staticmethod
    def resolve_category_ids(obj: CouponTemplate) -> list[int]:
        return [c.pk for c in obj.categories.all()]


class IssueIn(Schema):
    customer_ids: Annotated[list[ObjectId], Field(min_length=1, max_length=1000)]


class Skipped(Schema):
    customer_id: int
    message: str


class IssueOut(Schema):
    issued: list[CouponOut]
    skipped: list[Skipped]


class RedeemCouponIn(Schema):
    code: Annotated[Text, Field(min_length=1, max_length=30)]
    customer_id: ObjectId
    order_id: ObjectId | None = Field(
        None, description="an order of hers already recorded, to link the coupon to"
    )


class VoidCouponIn(Schema):
    code: Annotated[Text, Field(min_length=1, max_length=30)]
    reason: Reason = ""
