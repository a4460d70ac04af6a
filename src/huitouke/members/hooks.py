"""Members' part of other apps' events: connected in MembersConfig.ready()."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from huitouke.members.models import ConsentEvent


def on_consent_answered(
    sender: Any,
    *,
    answers: Sequence[tuple[int, int, str, bool]],
    source: str,
    actor: Any,
    at: datetime,
    **kwargs: Any,
) -> None:
    """customers.events.consent_answered: each answer becomes a ConsentEvent (PIPL art. 14)."""
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            organisation_id=org_id,
            customer_id=customer_id,
            channel=channel,
            granted=granted,
            source=source,
            actor=actor,
            at=at,
        )
        for customer_id, org_id, channel, granted in answers
    )
