"""WeCom's part of other apps' events: connected in WecomConfig.ready().

A handover moves the customers' WeChat too (a transfer recorded inside the handover, WeCom called
after commit); a merge moves the duplicate's WeChat links; corp tags set in Huitouke are marked
in WeCom after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huitouke.accounts.models import User
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.changes import CustomerChanges
from huitouke.customers.models import Customer, Tag
from huitouke.wecom import transfers
from huitouke.wecom.models import (
    WeComConnection,
    WeComContact,
    WeComCorpTag,
    WeComGroupRecipient,
    WeComTransfer,
)


def on_customers_handed_over(
    sender: Any,
    *,
    customer_ids: Sequence[int],
    from_staff: User,
    assignments: dict[int, list[int]],
    **kwargs: Any,
) -> None:
    """customers.events.customers_handed_over: transfers recorded now, sent to WeCom after commit."""
    pending = transfers.record_handover_transfers(from_staff, assignments)
    if pending:
        # WeCom is called only once the handover is committed, never inside it.
        enqueue_on_commit("huitouke.wecom.tasks.send_transfers", pending)


def on_customers_merged(sender: Any, *, keep: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customers_merged: the duplicate's WeChat links and WeCom history move to keep."""
    WeComContact.objects.filter(customer=duplicate).update(customer=keep)
    WeComTransfer.objects.filter(customer=duplicate).update(customer=keep)
    WeComGroupRecipient.objects.filter(customer=duplicate).update(customer=keep)


def on_tags_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """m2m_changed of Customer.tags: a WeCom corp tag added or removed is marked after commit."""
    if reverse or action not in ("post_add", "post_remove") or not pk_set:
        return
    if not isinstance(instance, Customer):
        return
    if not WeComContact.objects.filter(customer=instance).exists():
        return
    names = list(Tag.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    tag_ids = list(
        WeComCorpTag.objects.filter(
            organisation_id=instance.organisation_id, name__in=names
        ).values_list("tag_id", flat=True)
    )
    if not tag_ids:
        return
    add = tag_ids if action == "post_add" else []
    remove = tag_ids if action == "post_remove" else []
    customer_id = instance.pk
    enqueue_on_commit("huitouke.wecom.tasks.mark_tags", customer_id, add, remove)


# Customers written at once, past their tags' m2m_changed (an import): reconciled in chunks, as
# `customer_id IN (…)` lists stay under the databases' parameter limits.
RECONCILE_CHUNK = 5_000


def on_customers_changed(sender: Any, *, changes: CustomerChanges, **kwargs: Any) -> None:
    """customers.events.customers_changed: a WeCom-linked customer's corp tags go to WeCom."""
    if not WeComConnection.objects.filter(organisation_id=changes.organisation_id).exists():
        return
    ids = list(dict.fromkeys((*changes.created, *changes.updated)))
    corp_tags = WeComCorpTag.objects.filter(organisation_id=changes.organisation_id).values("name")
    for start in range(0, len(ids), RECONCILE_CHUNK):
        # Only customers linked in WeCom who carry a tag named like a corp tag: a handover or an
        # opt-out leaves WeCom alone.
        linked = sorted(
            set(
                WeComContact.objects.filter(
                    customer_id__in=ids[start : start + RECONCILE_CHUNK],
                    customer__tags__name__in=corp_tags,
                ).values_list("customer_id", flat=True)
            )
        )
        if linked:
            enqueue_on_commit("huitouke.wecom.tasks.reconcile_tags", linked)
