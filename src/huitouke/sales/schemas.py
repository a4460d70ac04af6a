"""API shapes of categories, products, orders and refunds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from huitouke.accounts.models import Role
from huitouke.sales.models import OrderSource, Product
from huitouke.schemas import Money, ObjectId, PastDateTime, QueryDate, Text

CycleDays = Annotated[int, Field(ge=1, le=3650)]


class CategoryPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=50)] | None = None
    cycle_days: CycleDays | None = None


class CategoryIn(CategoryPatch):
    name: Annotated[Text, Field(min_length=1, max_length=50)]


class CategoryOut(Schema):
    id: int
    name: str
    cycle_days: int | None
    learned_cycle_days: int | None


class ProductPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    sku: Annotated[Text, Field(max_length=50)] | None = None
    category_id: ObjectId | None = None
    price: Money | None = None
    cost: Money | None = None
    use_cycle_days: CycleDays | None = None
    is_active: bool | None = None


class ProductIn(ProductPatch):
    name: Annotated[Text, Field(min_length=1, max_length=100)]


class ProductFilters(Schema):
    q: Annotated[Text, Field(max_length=100)] | None = Field(None, description="name or SKU")
    category: ObjectId | None = None
    is_active: bool | None = None


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category_id: int | None
    price: Decimal
    cost: Decimal | None = Field(description="only shown to the owner and managers")
    use_cycle_days: int | None
    is_active: bool

    @staticmethod
    def resolve_cost(obj: Product, context: dict[str, Any]) -> Decimal | None:
        return obj.cost if context["request"].auth.role in (Role.OWNER, Role.MANAGER) else None


class OrderLineIn(Schema):
    """A catalogue product (price defaults to its price) or a free-text item with its price."""

    product_id: ObjectId | None = None
    name: Annotated[Text, Field(max_length=100)] = ""
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Money | None = None


class OrderIn(Schema):
    customer_id: ObjectId | None = Field(None, description="leave out for a walk-in sale")
    store_id: ObjectId | None = Field(None, description="defaults to your store")
    staff_id: ObjectId | None = Field(None, description="who sold it; defaults to you")
    placed_at: PastDateTime | None = None
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=200)]
    discount: Money = Decimal("0.00")
    source: OrderSource = OrderSource.API
    external_id: Annotated[Text, Field(max_length=100)] = ""
    note: Annotated[Text, Field(max_length=200)] = ""


class OrderFilters(Schema):
    customer: ObjectId | None = None
    since: QueryDate | None = Field(None, description="placed on or after this day")
    until: QueryDate | None = Field(None, description="placed on or before this day")


class OrderLineOut(Schema):
    id: int
    product_id: int | None
    name: str
    quantity: int
    unit_price: Decimal
    refunded_quantity: int


class OrderOut(Schema):
    id: int
    customer_id: int | None
    store_id: int
    staff_id: int | None
    placed_at: datetime
    status: str
    gross_amount: Decimal
    discount_amount: Decimal
    coupon_amount: Decimal
    points_amount: Decimal
    net_paid: Decimal
    refunded_amount: Decimal
    source: str
    external_id: str
    note: str
    lines: list[OrderLineOut]


class RefundLine(Schema):
    line_id: ObjectId
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class RefundIn(Schema):
    """Leave out amount and lines to refund what is left of the order."""

    amount: Money | None = None
    lines: Annotated[list[RefundLine], Field(max_length=200)] = []
    reason: Annotated[Text, Field(max_length=200)] = ""


class RefundOut(Schema):
    id: int
    order_id: int
    amount: Decimal
    lines: list[RefundLine]
    reason: str
    created_at: datetime
