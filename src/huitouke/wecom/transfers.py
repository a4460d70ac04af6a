"""Handover that moves the WeChat relationship too (在职继承 / 离职继承).

Huitouke's handover moves owners at once (customers.ownership.do_hand_over_customers); this hook
records, inside that transaction (wecom.hooks), one WeComTransfer per customer whose WeChat the departing
member holds, and after commit asks WeCom to move them. WeCom answers per customer later
(transfer_result, or a transfer_fail callback): moved, still waiting for the customer's 24 h
acceptance, or refused. A refusal puts the customer back with her previous owner, since her
WeChat stayed there: ownership in Huitouke follows WeCom's result.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from huitouke.accounts.models import User
from huitouke.customers.models import Customer
from huitouke.customers.ownership import do_change_owner
from huitouke.wecom.actions import client_for
from huitouke.wecom.client import WeComError
from huitouke.wecom.models import (
    FollowState,
    TransferKind,
    TransferStatus,
    WeComConnection,
    WeComFollow,
    WeComMember,
    WeComTransfer,
)

logger = logging.getLogger("huitouke.wecom")

# transfer_result status → (our status, reason shown for refusals)
RESULT_STATUS = {1: TransferStatus.MOVED, 2: TransferStatus.WAITING, 3: TransferStatus.REFUSED}


def refusal_reason(code: str | int) -> str:
    """The stored reason: a code, put into words when shown (WeComTransfer.reason_display)."""
    if code in (3, "customer_refused"):
        return "customer_refused"
    if code in (4, "customer_limit_exceed"):
        return "customer_limit_exceed"
    return f"errcode:{code}"


def record_handover_transfers(from_staff: User, assignments: dict[int, list[int]]) -> list[int]:
    """Inside the handover: one transfer per customer the departing member follows; the pending ids."""
    org_id = from_staff.organisation_id
    if org_id is None:
        return []
    connection = WeComConnection.objects.filter(organisation_id=org_id).first()
    if connection is None or not connection.is_complete:
        return []
    userid_of = dict(
        WeComMember.objects.filter(organisation_id=org_id, staff__isnull=False).values_list(
            "staff_id", "userid"
        )
    )
    handover = userid_of.get(from_staff.pk)
    if not handover:
        return []
    kind = TransferKind.ON_JOB if from_staff.is_active else TransferKind.RESIGNED
    rows = []
    for staff_id, ids in assignments.items():
        takeover = userid_of.get(staff_id, "")
        follows = WeComFollow.objects.filter(
            contact__customer_id__in=ids, userid=handover, state=FollowState.ACTIVE
        ).values_list("contact__customer_id", "contact__external_userid")
        for customer_id, external_userid in follows:
            rows.append(
                WeComTransfer(
                    organisation_id=org_id,
                    customer_id=customer_id,
                    external_userid=external_userid,
                    kind=kind,
                    from_staff=from_staff,
                    to_staff_id=staff_id,
                    handover_userid=handover,
                    takeover_userid=takeover,
                    status=TransferStatus.PENDING if takeover else TransferStatus.FAILED,
                    reason="" if takeover else "no_account",
                )
            )
    created = WeComTransfer.objects.bulk_create(rows)
    return [t.pk for t in created if t.status == TransferStatus.PENDING]


def send_transfers(transfer_ids: Sequence[int], *, client: Any = None) -> int:
    """Ask WeCom to move the pending transfers (100 per call), then read the first results."""
    transfers = list(
        WeComTransfer.objects.filter(pk__in=transfer_ids, status=TransferStatus.PENDING)
    )
    if not transfers:
        return 0
    connection = WeComConnection.objects.get(organisation_id=transfers[0].organisation_id)
    client = client or client_for(connection)
    groups: dict[tuple[str, str, str], list[WeComTransfer]] = defaultdict(list)
    for t in transfers:
        groups[(t.kind, t.handover_userid, t.takeover_userid)].append(t)
    sent = 0
    for (kind, handover, takeover), group in groups.items():
        for start in range(0, len(group), 100):
            chunk = group[start : start + 100]
            try:
                codes = client.transfer(
                    handover,
                    takeover,
                    [t.external_userid for t in chunk],
                    resigned=kind == TransferKind.RESIGNED,
                )
            except WeComError as error:
                logger.warning("wecom transfer failed: %s", error.errcode)
                codes = {t.external_userid: error.errcode or -1 for t in chunk}
            now = timezone.now()
            for t in chunk:
                code = codes.get(t.external_userid, 0)
                if code == 0:
                    t.status, t.checked_at = TransferStatus.WAITING, now
                    sent += 1
                else:
                    t.status, t.errcode, t.finished_at = TransferStatus.FAILED, code, now
                    t.reason = refusal_reason(code)
            WeComTransfer.objects.bulk_update(
                chunk, ["status", "errcode", "reason", "checked_at", "finished_at"]
            )
    poll_transfers(connection, client=client)
    return sent


def poll_transfers(connection: WeComConnection, *, client: Any = None) -> dict[str, int]:
    """Read transfer_result for every waiting transfer and apply what WeCom decided."""
    waiting = list(
        WeComTransfer.objects.filter(
            organisation_id=connection.organisation_id, status=TransferStatus.WAITING
        )
    )
    outcome: dict[str, int] = defaultdict(int)
    if not waiting:
        return outcome
    client = client or client_for(connection)
    groups: dict[tuple[str, str, str], list[WeComTransfer]] = defaultdict(list)
    for t in waiting:
        groups[(t.kind, t.handover_userid, t.takeover_userid)].append(t)
    for (kind, handover, takeover), group in groups.items():
        try:
            result = client.transfer_result(
                handover, takeover, resigned=kind == TransferKind.RESIGNED
            )
        except WeComError as error:
            logger.warning("wecom transfer_result failed: %s", error.errcode)
            continue
        for t in group:
            code = result.get(t.external_userid)
            if code is None:
                continue
            status = RESULT_STATUS.get(code, TransferStatus.REFUSED if code == 4 else None)
            if status is None:
                status = TransferStatus.FAILED
            apply_result(t, status, reason=refusal_reason(code) if code != 1 else "")
            outcome[str(status)] += 1
    return outcome


def apply_result(transfer: WeComTransfer, status: str, *, reason: str = "") -> bool:
    """Record WeCom's answer once; a refusal gives the customer back to her previous owner."""
    now = timezone.now()
    if status == TransferStatus.WAITING:
        WeComTransfer.objects.filter(pk=transfer.pk).update(checked_at=now)
        return False
    with transaction.atomic():
        # Claimed with a conditional update: the poll and a transfer_fail callback arriving
        # together apply it once.
        claimed = WeComTransfer.objects.filter(
            pk=transfer.pk, status__in=[TransferStatus.WAITING, TransferStatus.PENDING]
        ).update(status=status, reason=reason, checked_at=now, finished_at=now)
        if not claimed:
            return False
        if status == TransferStatus.MOVED:
            follow = WeComFollow.objects.filter(
                contact__organisation_id=transfer.organisation_id,
                contact__external_userid=transfer.external_userid,
                userid=transfer.handover_userid,
            )
            try:
                with transaction.atomic():
                    follow.update(userid=transfer.takeover_userid)
            except IntegrityError:
                follow.delete()  # she already followed the new owner too
        elif status == TransferStatus.REFUSED and transfer.from_staff_id:
            # She refused the new owner: back to the old one, through the one owner-change
            # action (history, audit, her open tasks follow) — unless someone moved her since.
            customer = (
                Customer.objects.select_for_update()
                .filter(pk=transfer.customer_id, owner_id=transfer.to_staff_id)
                .first()
            )
            if customer is not None:
                do_change_owner(customer, transfer.from_staff, actor=None, reason="wecom_refused")
    return True


def transfer_failed(
    connection: WeComConnection, *, external_userid: str, takeover_userid: str, reason: str
) -> bool:
    """A transfer_fail callback: the waiting transfer is refused with WeCom's reason."""
    transfer = (
        WeComTransfer.objects.filter(
            organisation_id=connection.organisation_id,
            external_userid=external_userid,
            takeover_userid=takeover_userid,
            status__in=[TransferStatus.WAITING, TransferStatus.PENDING],
        )
        .order_by("-requested_at", "-id")
        .first()
    )
    if transfer is None:
        return False
    return apply_result(transfer, TransferStatus.REFUSED, reason=refusal_reason(reason))
