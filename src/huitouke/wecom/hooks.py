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
from huitouke.customers.models import Customer, Tag
from huitouke.wecom import transfers
from huitouke.wecom.models import WeComContact, WeComCorpTag, WeComGroupRecipient, WeComTransfer


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
