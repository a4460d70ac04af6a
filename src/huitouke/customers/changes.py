"""The one place a change to customers is announced, whichever write made it.

A single `Customer.save()` is seen by the integrations app's post_save receiver; the writes that
go around `save()` (an import's bulk insert and update, a handover's UPDATE, the member page's
one-tap consent, an opt-out) call `customers_changed` here, inside their own transaction; it sends
customers.events.customers_changed, so the receivers (webhooks) hear every change once and
nothing of a write that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from huitouke.customers import events
from huitouke.customers.models import Customer

CONSENT_FIELDS = ("consent_sms", "consent_email", "consent_wechat")


@dataclass(frozen=True)
class CustomerChanges:
    """Customers of one organisation created, changed, or whose consent changed, in one write."""

    organisation_id: int
    created: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    # customer id → her consent after the write, as (sms, email, wechat)
    consent: Mapping[int, tuple[bool, bool, bool]] = field(default_factory=dict)


def customers_changed(
    organisation_id: int | None,
    *,
    created: Iterable[int] = (),
    updated: Iterable[int] = (),
    consent: Mapping[int, tuple[bool, bool, bool]] | None = None,
) -> None:
    """Tell the listeners about customers written without `save()` (call inside the write)."""
    if organisation_id is None:
        return
    changes = CustomerChanges(
        organisation_id=organisation_id,
        created=tuple(dict.fromkeys(created)),
        updated=tuple(dict.fromkeys(updated)),
        consent=dict(consent or {}),
    )
    if not (changes.created or changes.updated or changes.consent):
        return

    events.customers_changed.send(sender=Customer, changes=changes)


def consent_of(customer_ids: Iterable[int]) -> dict[int, tuple[bool, bool, bool]]:
    """The stored consent of these customers, as customers_changed takes it."""

    return {
        pk: (sms, email, wechat)
        for pk, sms, email, wechat in Customer.objects.filter(pk__in=list(customer_ids))
        .values_list("pk", *CONSENT_FIELDS)
        .iterator()
    }
