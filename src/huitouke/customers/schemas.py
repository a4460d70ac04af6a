"""API shapes of customers, their interactions and timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from ninja import Field, Schema
from pydantic import AfterValidator

from huitouke.accounts.scoping import can_see_full_phone
from huitouke.customers.models import (
    CalendarKind,
    Customer,
    CustomerStats,
    Gender,
    InteractionKind,
    Source,
)
from huitouke.customers.phones import mask_phone
from huitouke.customers.validation import validate_budget, validate_phone
from huitouke.schemas import ObjectId, PastDateTime, Text

CustomValue = Text | bool | int | float | list[Text] | None


def _valid_phone(value: str) -> str:
    # Checked here as well as in the action so that the error names the field.
    try:
        validate_phone(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    return value


def _valid_budget(value: Decimal) -> Decimal:
    try:
        validate_budget(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    return value


Phone = Annotated[Text, Field(max_length=30), AfterValidator(_valid_phone)]
# No ge=0 here: the rule (and its message naming the field) is customers.validation's.
Budget = Annotated[Decimal, Field(max_digits=12, decimal_places=2), AfterValidator(_valid_budget)]


class CustomerPatch(Schema):
    """Fields to change; a field left out stays as it is."""

    name: Annotated[Text, Field(max_length=100)] | None = None
    salutation_override: Annotated[Text, Field(max_length=20)] | None = None
    phone: Phone | None = None
    external_id: Annotated[Text, Field(max_length=64)] | None = None
    wechat_id: Annotated[Text, Field(max_length=64)] | None = None
    gender: Gender | None = None
    ethnicity: Annotated[Text, Field(max_length=20)] | None = None
    city: Annotated[Text, Field(max_length=50)] | None = None
    city_tier: Annotated[int, Field(ge=1, le=6)] | None = None
    address: Annotated[Text, Field(max_length=200)] | None = None
    email: Annotated[Text, Field(max_length=254)] | None = None
    source: Source | None = None
    budget: Budget | None = None
    notes: Annotated[Text, Field(max_length=5000)] | None = None
    owner_id: ObjectId | None = None
    home_store_id: ObjectId | None = None
    referrer_id: ObjectId | None = None
    consent_sms: bool | None = None
    consent_email: bool | None = None
    consent_wechat: bool | None = None
    custom: (
        Annotated[dict[Annotated[Text, Field(max_length=40)], CustomValue], Field(max_length=100)]
        | None
    ) = None
    birthday_kind: CalendarKind | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    birth_month: Annotated[int, Field(ge=1, le=12)] | None = None
    birth_day: Annotated[int, Field(ge=1, le=31)] | None = None
    birth_leap_month: bool | None = None
    tags: Annotated[list[Annotated[Text, Field(max_length=30)]], Field(max_length=50)] | None = None


class CustomerIn(CustomerPatch):
    """A new customer: only the name is required."""

    name: Annotated[Text, Field(min_length=1, max_length=100)]


class CustomerFilters(Schema):
    q: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="name, phone, WeChat id, customer number or tag"
    )
    owner: ObjectId | None = None
    store: ObjectId | None = None
    has_orders: bool | None = None


class StatsOut(Schema):
    first_order_at: datetime | None
    last_order_at: datetime | None
    orders_count: int
    net_spend: Decimal
    avg_order_value: Decimal
    spend_12m: Decimal


class CustomerOut(Schema):
    id: int
    name: str
    salutation_override: str
    salutation: str = Field(description="How scripts and messages address her (欧阳女士)")
    phone: str | None = Field(description="E.164; masked (138****1234) unless you own the customer")
    phone_masked: bool
    external_id: str
    wechat_id: str
    gender: str
    ethnicity: str
    city: str
    city_tier: int | None
    address: str
    email: str
    source: str
    budget: Decimal | None
    notes: str
    owner_id: int | None
    home_store_id: int | None
    referrer_id: int | None
    consent_sms: bool
    consent_email: bool
    consent_wechat: bool
    custom: dict[str, Any]
    birthday_kind: str
    birth_year: int | None
    birth_month: int | None
    birth_day: int | None
    birth_leap_month: bool
    tags: list[str]
    stats: StatsOut | None
    created_at: datetime

    @staticmethod
    def resolve_phone(obj: Customer, context: dict[str, Any]) -> str | None:
        if not obj.phone:
            return None
        return (
            obj.phone if can_see_full_phone(context["request"].auth, obj) else mask_phone(obj.phone)
        )

    @staticmethod
    def resolve_phone_masked(obj: Customer, context: dict[str, Any]) -> bool:
        return bool(obj.phone) and not can_see_full_phone(context["request"].auth, obj)

    @staticmethod
    def resolve_tags(obj: Customer) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_stats(obj: Customer) -> CustomerStats | None:
        try:
            return obj.stats
        except CustomerStats.DoesNotExist:
            return None


class InteractionIn(Schema):
    kind: InteractionKind
    note: Annotated[Text, Field(max_length=5000)] = ""
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    occurred_at: PastDateTime | None = None


class InteractionOut(Schema):
    id: int
    customer_id: int
    kind: str
    occurred_at: datetime
    note: str
    rating: int | None
    staff_id: int | None


class TimelineOrder(Schema):
    id: int
    placed_at: datetime
    status: str
    net_paid: Decimal
    refunded_amount: Decimal
    store_id: int
    items: list[str]

    @staticmethod
    def resolve_items(obj: Any) -> list[str]:
        return [str(line) for line in obj.lines.all()]


class TimelineEntry(Schema):
    """One row of the customer's timeline: an order or an interaction, newest first."""

    type: Literal["order", "interaction"]
    at: datetime
    order: TimelineOrder | None = None
    interaction: InteractionOut | None = None
