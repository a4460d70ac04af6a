"""Schemas of the integrations API: change feed pages, tombstones, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from ninja import Field, Schema

from huitouke.schemas import PastDateTime

T = TypeVar("T")


class FeedParams(Schema):
    """The query of every change feed."""

    updated_since: PastDateTime | None = Field(
        None, description="only rows changed at or after this time (ISO 8601)"
    )
    cursor: str | None = Field(
        None, max_length=200, description="the next_cursor of the previous page"
    )
    limit: int = Field(100, ge=1, le=500)
    with_count: bool = Field(False, description="also count the rows left (slower)")


class FeedPage(Schema, Generic[T]):
    """Rows changed after the cursor, oldest change first."""

    items: list[T]
    next_cursor: str | None = Field(
        description="send it back as `cursor` for the next page, now or later"
    )
    has_more: bool
    count: int | None = Field(description="rows from this cursor on; only with with_count=true")


class TombstoneOut(Schema):
    kind: str = Field(description="customer, order, coupon or message")
    object_id: int
    reason: str = Field(description="deleted, merged or anonymised")
    replaced_by_id: int | None = Field(description="the customer it was merged into")
    updated_at: datetime
