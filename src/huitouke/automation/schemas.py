"""API schemas of automation rules, their results and the ready-made templates."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from huitouke.automation.models import Trigger
from huitouke.schemas import ClockTime, ObjectId, QueryDate, Text


class RuleIn(Schema):
    name: Text = Field(..., max_length=100)
    trigger: Trigger
    params: dict[str, Any] = {}
    segment_id: ObjectId | None = None
    conditions: dict[str, Any] = {}
    delay_minutes: int = Field(0, ge=0, le=525600)
    actions: list[dict[str, Any]] = Field(..., max_length=10)
    quiet_start: ClockTime | None = time(21)
    quiet_end: ClockTime | None = time(9)
    cap_exempt: bool = False
    holdout_share: Decimal | None = Field(
        None, ge=0, le=Decimal("0.5"), max_digits=3, decimal_places=2
    )
    active_from: QueryDate | None = None
    active_until: QueryDate | None = None
    is_marketing: bool = True
    is_active: bool = False


class RulePatch(Schema):
    """Any subset of a rule's fields; the rest stay as they are."""

    name: Text | None = Field(None, max_length=100)
    params: dict[str, Any] | None = None
    segment_id: ObjectId | None = None
    conditions: dict[str, Any] | None = None
    delay_minutes: int | None = Field(None, ge=0, le=525600)
    actions: list[dict[str, Any]] | None = Field(None, max_length=10)
    quiet_start: ClockTime | None = None
    quiet_end: ClockTime | None = None
    cap_exempt: bool | None = None
    holdout_share: Decimal | None = Field(
        None, ge=0, le=Decimal("0.5"), max_digits=3, decimal_places=2
    )
    active_from: QueryDate | None = None
    active_until: QueryDate | None = None
    is_marketing: bool | None = None
    is_active: bool | None = None


class RuleOut(Schema):
    id: int
    name: str
    template_code: str
    trigger: str
    params: dict[str, Any]
    segment_id: int | None
    conditions: dict[str, Any]
    delay_minutes: int
    actions: list[dict[str, Any]]
    quiet_start: ClockTime | None
    quiet_end: ClockTime | None
    cap_exempt: bool
    holdout_share: Decimal
    active_from: date | None
    active_until: date | None
    is_marketing: bool
    is_active: bool
    scope_role: str = Field(
        description="Whose customers the rule reaches: its author's role when it was made "
        "(owner: the organisation; manager: her store and the customers she owns)."
    )
    scope_store_id: int | None


class EstimateOut(Schema):
    """Whom a rule would reach if it ran now, as the editor's preview counts it."""

    matching: int
    suppressed: dict[str, int]  # opted_out, no_consent, no_address, no_channel, frequency_cap
    by_channel: dict[str, int]  # messages per channel (fallbacks included), before the holdout
    holdout: int
    contacted: int


class ResultsOut(Schema):
    """DESIGN §5 "Campaign results" of one rule or campaign."""

    targeted: int
    treated: int
    holdout: int
    suppressed_customers: int
    sent: int
    delivered: int
    failed: int
    suppressed: dict[str, int]
    coupons_issued: int
    coupons_redeemed: int
    converters: int
    holdout_converters: int
    attributed_revenue: Decimal
    holdout_revenue: Decimal
    message_cost: Decimal
    coupon_cost: Decimal
    cost: Decimal
    roi: Decimal | None
    conversion_rate: float | None
    holdout_conversion_rate: float | None
    uplift: float | None
    # Low and high end of the interval (a tuple's "prefixItems" is not OpenAPI 3.0).
    uplift_ci: Annotated[list[float], Field(min_length=2, max_length=2)] | None
    revenue_per_customer: Decimal | None
    holdout_revenue_per_customer: Decimal | None
    revenue_uplift: Decimal | None
    window_days: int


class TemplateOut(Schema):
    code: str
    name: str
    description: str
    trigger: str
    rule_id: int | None
    is_active: bool
