"""Schema pieces every app's API shares: safe text, ids, money, dates, paging and the error body."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator

# Primary keys are 64-bit on both databases; a larger number in a path or body would overflow
# the database driver instead of simply matching nothing.
MAX_ID = 2**63 - 1
T = TypeVar("T")


def _clean_text(value: str) -> str:
    # PostgreSQL rejects NUL in text, and lone surrogates cannot be encoded as UTF-8: both would
    # otherwise surface as a database error (a 500) instead of a message.
    if "\x00" in value:
        raise ValueError(_("The text contains a NUL character."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(_("The text contains characters that are not valid Unicode.")) from exc
    return value.strip()


def _sane_datetime(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value.year < 1970 or value > timezone.now() + timedelta(days=1):
        raise ValueError(_("The time must lie between 1970 and today."))
    return value


Text = Annotated[str, AfterValidator(_clean_text)]
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
PastDateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
QueryDate = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]


class Paging(Schema):
    """The `limit` / `offset` query parameters of every list."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class Page(Schema, Generic[T]):
    """One page of a list and the total number of rows matching the filters."""

    count: int
    limit: int
    offset: int
    items: list[T]


class FieldError(Schema):
    field: str | None = None
    message: str


class ErrorOut(Schema):
    """The body of every error answer."""

    detail: str
    errors: list[FieldError] = []


def page_of(queryset: QuerySet[Any], paging: Paging) -> dict[str, Any]:
    """Slice a queryset into a `Page` (the count runs over the same filters)."""
    items = list(queryset[paging.offset : paging.offset + paging.limit])
    return {
        "count": queryset.count(),
        "limit": paging.limit,
        "offset": paging.offset,
        "items": items,
    }
