"""The WeCom 群发 round trip: tasks per owner, results read back, fallback and frequency cap."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.customers.models import Customer
from huitouke.wecom.groupmsg import do_queue_group_message, refresh_group_message
from huitouke.wecom.models import (
    GroupMessageStatus,
    RecipientStatus,
    WeComConnection,
    WeComGroupMessage,
    WeComGroupRecipient,
)
from huitouke.wecom.sync import do_sync_contacts
from tests.helpers import make_customer
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db


def test_group_message_round_trip(
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    staff_b: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    standin.add_contact("wm1", "甲", {"ua": {}})
    standin.add_contact("wm2", "乙", {"ua": {}})
    standin.add_contact("wm3", "丙", {"ub": {}})
    do_sync_contacts(connection, actor=owner)
    plain = make_customer(connection.organisation, name="没有微信", owner=staff_a)
    customers = list(Customer.objects.filter(organisation=connection.organisation))

    with django_capture_on_commit_callbacks(execute=True):
        plan = do_queue_group_message(connection, customers, "中秋快乐，到店领月饼", actor=owner)
    assert plan.fallback == [plain.pk]
    assert sorted(m.sender for m in plan.messages) == ["ua", "ub"]
    sent = standin.msg_templates
    assert sorted(len(t["ids"]) for t in sent.values()) == [1, 2]
    assert set(WeComGroupMessage.objects.values_list("status", flat=True)) == {
        GroupMessageStatus.WAITING
    }

    standin.send_status["wm2"] = 3  # WeCom's monthly limit: she already received one
    message = WeComGroupMessage.objects.get(sender="ua")
    assert refresh_group_message(message) == {"sent": 1, "limit": 1}
    message.refresh_from_db()
    assert message.status == GroupMessageStatus.SENT
    statuses = dict(WeComGroupRecipient.objects.values_list("external_userid", "status"))
    assert statuses["wm1"] == RecipientStatus.SENT and statuses["wm2"] == RecipientStatus.LIMIT

    # Our cap: within 30 days nobody who got (or may still get) one is sent another; the one
    # WeCom refused for its own limit is tried again.
    with django_capture_on_commit_callbacks(execute=True):
        again = do_queue_group_message(connection, customers, "国庆见", actor=owner)
    capped = set(Customer.objects.filter(pk__in=again.capped).values_list("name", flat=True))
    assert capped == {"甲", "丙"}
    assert [len(m.recipients.all()) for m in again.messages] == [1]
