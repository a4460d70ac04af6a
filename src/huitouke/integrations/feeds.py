"""Change feeds: keyset pages over (updated_at, id), with an opaque cursor and no COUNT by default.

A page lists rows changed after the cursor (or since `updated_since`), oldest change first, and
ends with `next_cursor`, which a client stores and sends next time: it always points after the
last row returned, so polling a feed never repeats or skips a row. Rows changed in the last
FEED_SETTLE_SECONDS are held back: a transaction that set `updated_at` before the page was read
but committed after would otherwise be passed over for good. A row changed again later shows up
again, at its new place (a feed lists changes, not rows).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.integrations.tombstones import record_tombstone

__all__ = ["decode_cursor", "encode_cursor", "feed_page", "record_tombstone"]


def encode_cursor(changed_at: datetime, pk: int) -> str:
    """An opaque cursor for the position after (changed_at, pk)."""
    raw = json.dumps([changed_at.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position of a cursor; a ValidationError (422) for anything not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, pk = json.loads(raw)
        changed_at = datetime.fromisoformat(when)
        if timezone.is_naive(changed_at) or not isinstance(pk, int) or not 0 <= pk < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError(
            {"cursor": _("This cursor is not valid: send back a next_cursor you received.")}
        ) from exc
    return changed_at, pk


def feed_page(
    queryset: QuerySet[Any],
    *,
    time_field: str = "updated_at",
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
    with_count: bool = False,
) -> dict[str, Any]:
    """One page of a change feed over `queryset` (already scoped to the caller)."""
    rows = queryset.filter(
        **{f"{time_field}__lte": timezone.now() - timedelta(seconds=settings.FEED_SETTLE_SECONDS)}
    )
    if updated_since is not None:
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow.
        if timezone.is_naive(updated_since):
            updated_since = timezone.make_aware(updated_since, UTC)
        rows = rows.filter(**{f"{time_field}__gte": updated_since.astimezone(UTC)})
    if cursor:
        at, pk = decode_cursor(cursor)
        at = at.astimezone(UTC)
        rows = rows.filter(Q(**{f"{time_field}__gt": at}) | Q(**{time_field: at, "pk__gt": pk}))
    items = list(rows.order_by(time_field, "pk")[: limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    if items:
        last = items[-1]
        next_cursor: str | None = encode_cursor(getattr(last, time_field), last.pk)
    else:
        next_cursor = cursor
    return {
        "items": items,
        "next_cursor": next_cursor,
        "has_more": has_more,
        "count": rows.count() if with_count else None,
    }
