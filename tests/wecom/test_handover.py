"""A Huitouke handover moves the customers' WeChat too, and ownership follows WeCom's answer."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer, OwnershipChange
from huitouke.customers.ownership import do_hand_over_customers
from huitouke.wecom.models import TransferKind, TransferStatus, WeComConnection, WeComTransfer
from huitouke.wecom.sync import do_sync_contacts
from huitouke.wecom.transfers import poll_transfers, transfer_failed
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_customers(
    connection: WeComConnection, standin: WeComStandIn, staff_a: User, staff_b: User
) -> dict[str, Customer]:
    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    for ext, answer in (("wmYes", "accept"), ("wmNo", "refuse"), ("wmWait", "wait")):
        standin.add_contact(ext, ext, {"ua": {}})
        standin.transfer_answers[ext] = answer
    do_sync_contacts(connection, actor=None)
    return {c.external_userid: c.customer for c in connection.organisation.wecomcontact_set.all()}


def statuses() -> dict[str, str]:
    return dict(WeComTransfer.objects.values_list("external_userid", "status"))


def test_on_job_handover_accepting_refusing_waiting(
    three_customers: dict[str, Customer],
    standin: WeComStandIn,
    connection: WeComConnection,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert Customer.objects.filter(owner=staff_a).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        moved = do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    assert moved == 3
    assert standin.paths.count("externalcontact/transfer_customer") == 1
    assert statuses() == {
        "wmYes": TransferStatus.MOVED,
        "wmNo": TransferStatus.REFUSED,
        "wmWait": TransferStatus.WAITING,
    }
    assert set(WeComTransfer.objects.values_list("kind", flat=True)) == {TransferKind.ON_JOB}
    owners = {ext: Customer.objects.get(pk=c.pk).owner for ext, c in three_customers.items()}
    assert owners == {"wmYes": staff_b, "wmNo": staff_a, "wmWait": staff_b}
    refused = WeComTransfer.objects.get(external_userid="wmNo")
    assert refused.reason_display == "The customer refused the new owner."
    assert OwnershipChange.objects.filter(reason="wecom_refused").count() == 1
    back = AuditEntry.objects.get(action="owner_change", detail__reason="wecom_refused")
    assert back.object_id == str(three_customers["wmNo"].pk) and back.detail["to"] == staff_a.pk
    # WeCom moved her follow to ub in the stand-in, and in Huitouke.
    assert "ub" in standin.contacts["wmYes"].follows
    assert three_customers["wmYes"].wecom_contacts.get().follows.get().userid == "ub"

    # The waiting customer accepts within her 24 h: the next poll records it, once.
    standin.transfer_answers["wmWait"] = "accept"
    assert poll_transfers(connection) == {"moved": 1}
    assert statuses()["wmWait"] == TransferStatus.MOVED
    assert poll_transfers(connection) == {}


def test_transfer_fail_callback_refuses_the_waiting_one(
    three_customers: dict[str, Customer],
    connection: WeComConnection,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    assert transfer_failed(
        connection, external_userid="wmWait", takeover_userid="ub", reason="customer_limit_exceed"
    )
    waiting = WeComTransfer.objects.get(external_userid="wmWait")
    assert waiting.status == TransferStatus.REFUSED
    assert "limit" in waiting.reason_display
    assert Customer.objects.get(pk=three_customers["wmWait"].pk).owner == staff_a
    # A second delivery of the same failure changes nothing.
    assert not transfer_failed(
        connection, external_userid="wmWait", takeover_userid="ub", reason="customer_refused"
    )


def test_departed_staff_uses_resigned_transfer(
    three_customers: dict[str, Customer],
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    staff_a.is_active = False
    staff_a.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    assert standin.paths.count("externalcontact/resigned/transfer_customer") == 1
    assert standin.paths.count("externalcontact/transfer_customer") == 0
    assert set(WeComTransfer.objects.values_list("kind", flat=True)) == {TransferKind.RESIGNED}
    assert statuses()["wmYes"] == TransferStatus.MOVED


def test_handover_without_wecom_does_nothing_extra(
    org: Any, owner: User, staff_a: User, staff_b: User, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.helpers import make_customer

    make_customer(org, owner=staff_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    assert callbacks == [] and not WeComTransfer.objects.exists()


def test_new_owner_without_wecom_account_is_reported(
    three_customers: dict[str, Customer],
    owner: User,
    staff_a: User,
    staff_c: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_c], actor=owner)
    assert callbacks == []
    assert set(statuses().values()) == {TransferStatus.FAILED}
