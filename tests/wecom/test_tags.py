"""Tags both ways: a corp tag set in Huitouke is marked in WeCom; the next sync changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.customers.actions import set_tags
from huitouke.customers.models import Customer
from huitouke.imports.actions import do_commit_import
from huitouke.wecom.models import WeComConnection, WeComFollow
from huitouke.wecom.sync import do_sync_contacts
from tests.imports.importfiles import write_csv
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db


def _member_with_two_corp_tags(standin: WeComStandIn, staff_a: User) -> None:
    """staff_a is WeCom member "ua"; the corp has the tags VIP (t1) and 敏感肌 (t2)."""
    staff_a.phone = "13700000001"
    staff_a.save(update_fields=["phone"])
    standin.add_member("ua", "小美", mobile="13700000001")
    standin.tag_groups = [
        {
            "group_id": "g",
            "group_name": "等级",
            "tag": [{"id": "t1", "name": "VIP"}, {"id": "t2", "name": "敏感肌"}],
        }
    ]


def test_corp_tag_set_in_huitouke_is_marked_in_wecom(
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _member_with_two_corp_tags(standin, staff_a)
    standin.add_contact("wmT", "韩梅", {"ua": {"tag_id": ["t1"]}})
    do_sync_contacts(connection, actor=owner)
    customer = Customer.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        set_tags(customer, ["VIP", "敏感肌", "本店自己的标签"])
    assert standin.marked == [
        {"userid": "ua", "external_userid": "wmT", "add_tag": ["t2"], "remove_tag": []}
    ]
    assert standin.contacts["wmT"].follows["ua"]["tag_id"] == ["t1", "t2"]
    with django_capture_on_commit_callbacks(execute=True):
        set_tags(customer, ["敏感肌"])
    assert standin.marked[-1]["remove_tag"] == ["t1"]
    assert WeComFollow.objects.get().tag_ids == ["t2"]
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.follows_changed == 0 and counts.unchanged == 1


def test_corp_tags_given_by_an_import_are_marked_in_wecom_once(
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    store1: Any,
    tmp_path: Any,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """An import writes tags in bulk (no m2m_changed): the corp tag WeCom lacks is still marked."""
    _member_with_two_corp_tags(standin, staff_a)
    standin.add_contact(
        "wmT", "韩梅", {"ua": {"tag_id": ["t1"], "remark_mobiles": ["13800138000"]}}
    )
    do_sync_contacts(connection, actor=owner)
    customer = Customer.objects.get()
    assert customer.phone == "+8613800138000"
    book = write_csv(
        tmp_path / "tags.csv",
        ["姓名", "手机", "标签"],
        [["韩梅", "13800138000", "VIP,敏感肌,本店自己的标签"]],
    )
    for _ in range(2):  # the second import finds WeCom already in step: no call
        with django_capture_on_commit_callbacks(execute=True):
            do_commit_import(
                book, organisation=store1.organisation, store=store1, kind="customers", actor=None
            )
    assert sorted(customer.tags.values_list("name", flat=True)) == [
        "VIP",
        "敏感肌",
        "本店自己的标签",
    ]
    assert standin.marked == [
        {"userid": "ua", "external_userid": "wmT", "add_tag": ["t2"], "remove_tag": []}
    ]
    assert standin.contacts["wmT"].follows["ua"]["tag_id"] == ["t1", "t2"]
    assert WeComFollow.objects.get().tag_ids == ["t1", "t2"]
