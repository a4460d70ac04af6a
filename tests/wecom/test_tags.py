"""Tags both ways: a corp tag set in Huitouke is marked in WeCom; the next sync changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from huitouke.accounts.models import User
from huitouke.customers.actions import set_tags
from huitouke.customers.models import Customer, Tag
from huitouke.imports.actions import do_commit_import
from huitouke.wecom.models import WeComConnection, WeComContact, WeComFollow
from huitouke.wecom.sync import do_sync_contacts
from huitouke.wecom.tagsync import reconcile_tags
from tests.imports.importfiles import write_csv
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db

TAG_NAMES = ("VIP", "敏感肌", "本店自己的标签")


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


def test_reconciling_one_or_fifty_customers_takes_the_same_queries(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User
) -> None:
    """The reconcile reads a list of customers in a fixed number of queries; only the mark_tag
    calls (one per external contact, as WeCom requires) grow with the customers."""
    _member_with_two_corp_tags(standin, staff_a)
    standin.add_member("ub", "小丽")  # not linked to any staff: the owner's follow is ua's
    # 51 contacts added by ua; ua's follow has no corp tag, t1, or both (by i % 3); every fifth
    # was added later by ub too, whose follow has t2.
    have = {0: [], 1: ["t1"], 2: ["t1", "t2"]}
    for i in range(51):
        follows: dict[str, dict[str, Any]] = {"ua": {"tag_id": have[i % 3]}}
        if i % 5 == 0:
            follows["ub"] = {"tag_id": ["t2"], "createtime": 1700000500}
        standin.add_contact(f"wm{i:02d}", f"顾客{i}", follows)
    do_sync_contacts(connection, actor=owner)  # also leaves the access token on the connection
    by_external = {
        c.external_userid: c.customer for c in WeComContact.objects.select_related("customer")
    }
    assert len(by_external) == 51
    assert {c.owner_id for c in by_external.values()} == {staff_a.pk}
    # Tagged in bulk like an import (no m2m_changed): VIP and 敏感肌, plus a shop-only tag.
    tags = [
        Tag.objects.get_or_create(organisation=connection.organisation, name=n)[0]
        for n in TAG_NAMES
    ]
    Through = Customer.tags.through
    Through.objects.bulk_create(
        [Through(customer_id=c.pk, tag_id=t.pk) for c in by_external.values() for t in tags],
        ignore_conflicts=True,  # the sync already gave VIP to those whose follow has t1
    )
    # What each contact's follows carry in WeCom, and so what ua must be asked to add.
    expected = []
    for i in range(51):
        carried = set(have[i % 3]) | ({"t2"} if i % 5 == 0 else set())
        missing = sorted({"t1", "t2"} - carried)
        if missing:
            expected.append(
                {
                    "userid": "ua",
                    "external_userid": f"wm{i:02d}",
                    "add_tag": missing,
                    "remove_tag": [],
                }
            )
    assert expected[0]["external_userid"] == "wm00" and expected[0]["add_tag"] == ["t1"]
    first = [by_external["wm00"].pk]
    rest = [by_external[f"wm{i:02d}"].pk for i in range(1, 51)]
    with CaptureQueriesContext(db_connection) as one:
        assert reconcile_tags(first) == 1
    with CaptureQueriesContext(db_connection) as fifty:
        assert reconcile_tags(rest) == len(expected) - 1
    assert len(one.captured_queries) == len(fifty.captured_queries) <= 8
    assert standin.marked == expected
    for i in range(51):
        ua = standin.contacts[f"wm{i:02d}"].follows["ua"]["tag_id"]
        assert set(ua) | ({"t2"} if i % 5 == 0 else set()) >= {"t1", "t2"}
        ours = WeComFollow.objects.get(contact__external_userid=f"wm{i:02d}", userid="ua")
        assert ours.tag_ids == sorted(ua)
    # Everything is in step: a second reconcile of all 51 calls nobody, a sync changes nothing.
    assert reconcile_tags(first + rest) == 0
    assert len(standin.marked) == len(expected)
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.follows_changed == 0 and counts.unchanged == 51
