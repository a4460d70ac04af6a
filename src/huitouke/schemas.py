"""Schema pieces every app's API shares: safe text, ids, money, dates, paging and the error body."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

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
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow.
    return value.astimezone(UTC)


def _not_a_number(value: Any) -> Any:
    # pydantic reads a bare number as seconds since 1970: 1714000000 or 0 would be stored as a
    # time nobody meant. Times come as ISO 8601 text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(_("Give the time as text, for example 2024-03-05T15:30:00+08:00."))
    return value


_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


def _clock_time(value: Any) -> time:
    # A shop's hour is wall-clock time in its own zone: "21:00", never "21:00Z" or an offset.
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_("Give the time of day as HH:MM, for example 21:00."))
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


Text = Annotated[str, AfterValidator(_clean_text)]
# A local time of day: "HH:MM" (or "HH:MM:SS") in and "HH:MM" out, described as such (JSON
# Schema's format "time" demands an offset, which a shop's quiet hours do not have).
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"}),
]
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
PastDateTime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_sane_datetime)]
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
