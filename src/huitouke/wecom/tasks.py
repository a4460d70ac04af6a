"""Huey jobs: send handover transfers after commit, poll their results."""

from __future__ import annotations

from collections.abc import Sequence

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.accounts.models import User
from huitouke.wecom import transfers
from huitouke.wecom.channel import refresh_waiting
from huitouke.wecom.client import WeComError
from huitouke.wecom.models import TransferStatus, WeComConnection, WeComTransfer
from huitouke.wecom.sync import do_sync_contacts
from huitouke.wecom.tagsync import mark_tags as mark
from huitouke.wecom.tagsync import reconcile_tags as reconcile


@db_task()
def send_transfers(transfer_ids: Sequence[int]) -> int:
    return transfers.send_transfers(transfer_ids)


@db_periodic_task(crontab(minute="*/15"))
def poll_transfers() -> None:
    """Customers have 24 h to accept a new owner: ask WeCom every quarter hour."""
    org_ids = (
        WeComTransfer.objects.filter(status=TransferStatus.WAITING)
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    for connection in WeComConnection.objects.filter(organisation_id__in=list(org_ids)):
        transfers.poll_transfers(connection)


@db_task()
def sync_contacts(connection_id: int, actor_id: int | None) -> None:

    connection = WeComConnection.objects.get(pk=connection_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        do_sync_contacts(connection, actor=actor)
    except WeComError as error:
        WeComConnection.objects.filter(pk=connection_id).update(
            last_error=f"{error.errcode}: {error.errmsg}"[:200]
        )


@db_task()
def mark_tags(customer_id: int, add: list[str], remove: list[str]) -> int:

    return mark(customer_id, add, remove)


@db_task()
def reconcile_tags(customer_ids: list[int]) -> int:

    return reconcile(customer_ids)


@db_periodic_task(crontab(minute="*/30"))
def refresh_group_messages() -> int:
    """Read the outbox's 群发 tasks' results back (confirmed by staff, received, refused)."""

    return refresh_waiting()
