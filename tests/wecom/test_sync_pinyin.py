"""WeCom's bulk insert of new contacts writes the pinyin search keys too."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.customers.models import Customer
from huitouke.customers.queries import search_customers
from huitouke.wecom.sync import do_sync_contacts
from tests.wecom.standin import WeComStandIn
from tests.wecom.test_sync import staff_members

pytestmark = pytest.mark.django_db


def test_synced_contacts_are_found_by_pinyin(
    connection: Any, standin: WeComStandIn, owner: Any, staff_a: Any
) -> None:
    staff_members(standin, staff_a)
    standin.add_contact("wm1", "曾小贤", {"u0": {"remark": "", "createtime": 1700000000}})
    do_sync_contacts(connection, actor=owner)
    her = Customer.objects.get(wecom_contacts__external_userid="wm1")
    assert (her.name_pinyin, her.name_initials) == ("zengxiaoxian", "zxx")
    assert list(search_customers(owner, "zxx")) == [her]
