"""Sync of external contacts against the stand-in: linking, owners, profile, idempotence."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from huitouke.accounts.models import User
from huitouke.customers.models import Customer, Source
from huitouke.wecom.actions import do_map_member
from huitouke.wecom.models import MatchedBy, WeComConnection, WeComContact, WeComFollow, WeComMember
from huitouke.wecom.sync import do_sync_contacts
from tests.helpers import make_customer
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db


def staff_members(standin: WeComStandIn, *staff: User) -> None:
    """Each staff member is a WeCom member with her mobile (matched on sync)."""
    for i, user in enumerate(staff):
        user.phone = f"1370000000{i}"
        user.save(update_fields=["phone"])
        standin.add_member(f"u{i}", str(user), mobile=user.phone)


def test_members_are_matched_to_staff_by_mobile(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User, staff_b: User
) -> None:
    staff_members(standin, staff_a, staff_b)
    standin.add_member("u9", "外人", mobile="13999999999")
    do_sync_contacts(connection, actor=owner)
    members = {m.userid: m for m in WeComMember.objects.all()}
    assert members["u0"].staff == staff_a and members["u0"].matched_by == MatchedBy.MOBILE
    assert members["u1"].staff == staff_b
    assert members["u9"].staff is None
    # By hand: u9 is staff_a's second phone, so u0 loses her.
    do_map_member(members["u9"], staff=staff_a, actor=owner)
    assert WeComMember.objects.get(userid="u0").staff is None
    assert WeComMember.objects.get(userid="u9").matched_by == MatchedBy.HAND


def test_three_staff_with_2500_contacts_each(
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    staff_b: User,
    staff_c: User,
) -> None:
    staff = [staff_a, staff_b, staff_c]
    staff_members(standin, *staff)
    for i, _user in enumerate(staff):
        for n in range(2500):
            standin.add_contact(
                f"wm{i}_{n:04d}",
                f"客户{i}-{n}",
                {f"u{i}": {"remark": f"备注{n}", "createtime": 1700000000 + n}},
            )
    started = time.perf_counter()
    counts = do_sync_contacts(connection, actor=owner)
    elapsed = time.perf_counter() - started
    assert counts.contacts == 7500 and counts.created == 7500
    # 3 members × 25 pages of 100 (each page is one call).
    assert standin.paths.count("externalcontact/batch/get_by_user") == 75
    assert Customer.objects.filter(organisation=connection.organisation).count() == 7500
    for i, user in enumerate(staff):
        owned = Customer.objects.filter(owner=user)
        assert owned.count() == 2500
        assert not owned.exclude(wecom_contacts__external_userid__startswith=f"wm{i}_").exists()
    assert Customer.objects.filter(source=Source.WECHAT).count() == 7500
    assert elapsed < 60

    before = list(Customer.objects.order_by("pk").values_list("pk", "updated_at", "owner_id"))
    follows_before = list(WeComFollow.objects.order_by("pk").values())
    with CaptureQueriesContext(db) as queries:
        again = do_sync_contacts(connection, actor=owner)
    assert again.created == 0 and again.linked == 0 and again.follows_changed == 0
    assert again.unchanged == 7500
    assert list(Customer.objects.order_by("pk").values_list("pk", "updated_at", "owner_id")) == (
        before
    )
    assert list(WeComFollow.objects.order_by("pk").values()) == follows_before
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    # Only the connection's last-sync counts and the audit entry are written.
    assert all("wecom_wecomconnection" in w or "audit_auditentry" in w for w in writes), writes


def test_contact_of_two_staff_is_one_customer_owned_by_the_earliest(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User, staff_b: User
) -> None:
    staff_members(standin, staff_a, staff_b)
    standin.add_contact(
        "wmShared",
        "陈静",
        {
            "u0": {"remark": "陈姐", "createtime": 1700000900, "description": "爱美白"},
            "u1": {"remark": "静静", "createtime": 1700000100, "remark_mobiles": ["13812345678"]},
        },
    )
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.created == 1
    customer = Customer.objects.get()
    assert customer.owner == staff_b  # u1 added her first
    assert customer.name == "静静" and customer.phone == "+8613812345678"
    follows = {f.userid: f for f in WeComFollow.objects.all()}
    assert follows["u0"].description == "爱美白"
    assert follows["u1"].remark_mobiles == ["13812345678"]
    assert follows["u1"].added_at is not None and follows["u1"].added_at.timestamp() == 1700000100
    assert WeComContact.objects.get().first_userid == "u1"


def test_links_by_unionid_then_phone_never_by_name(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User
) -> None:
    staff_members(standin, staff_a)
    by_phone = make_customer(connection.organisation, name="王芳", phone="13811112222")
    same_name = make_customer(connection.organisation, name="李娜", phone="13833334444")
    standin.add_contact("wmA", "王芳", {"u0": {"remark_mobiles": ["138 1111 2222"]}})
    standin.add_contact("wmB", "李娜", {"u0": {}}, unionid="union-1")
    do_sync_contacts(connection, actor=owner)
    assert WeComContact.objects.get(external_userid="wmA").customer == by_phone
    b = WeComContact.objects.get(external_userid="wmB")
    assert b.customer != same_name  # same name is not the same person
    # The same WeChat user seen through another follow user later: linked by unionid.
    standin.add_contact("wmB2", "Lina", {"u0": {}}, unionid="union-1")
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.linked == 1 and counts.created == 0
    assert WeComContact.objects.get(external_userid="wmB2").customer_id == b.customer_id


def test_corp_tags_land_on_the_customer_and_an_edit_is_synced(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User
) -> None:
    staff_members(standin, staff_a)
    standin.tag_groups = [
        {"group_id": "g1", "group_name": "客户等级", "tag": [{"id": "t1", "name": "VIP"}]}
    ]
    contact = standin.add_contact("wmT", "周婷", {"u0": {"tag_id": ["t1"]}})
    do_sync_contacts(connection, actor=owner)
    customer = Customer.objects.get()
    assert [t.name for t in customer.tags.all()] == ["VIP"]
    contact.follows["u0"]["remark"] = "周婷-老客"
    standin.version += 1
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.follows_changed == 1 and counts.created == 0
    assert WeComFollow.objects.get().remark == "周婷-老客"


def test_token_expiry_and_rate_limit_mid_sync_are_recovered(
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    settings: Any,
) -> None:
    staff_members(standin, staff_a)
    for n in range(350):
        standin.add_contact(f"wm{n}", f"客户{n}", {"u0": {"createtime": 1700000000 + n}})
    standin.expire_after = 5  # the token dies in the middle of the paging
    from huitouke.wecom.actions import client_for

    client = client_for(connection, sleep=lambda s: None)
    client.access_token()
    standin.fail_next(45009)
    counts = do_sync_contacts(connection, actor=owner, client=client)
    assert counts.created == 350
    assert standin.token_fetches == 2
    assert Customer.objects.filter(owner=staff_a).count() == 350


def test_merge_moves_the_wechat_link_and_resync_keeps_it(
    connection: WeComConnection, standin: WeComStandIn, owner: User, staff_a: User
) -> None:
    from huitouke.customers.duplicates import do_merge_customers

    staff_members(standin, staff_a)
    standin.add_contact("wmM", "黄蓉", {"u0": {}})
    do_sync_contacts(connection, actor=owner)
    duplicate = Customer.objects.get()
    keep = make_customer(connection.organisation, name="黄蓉")
    do_merge_customers(keep=keep, duplicate=duplicate, actor=owner)
    assert WeComContact.objects.get().customer == keep
    counts = do_sync_contacts(connection, actor=owner)
    assert counts.created == 0 and WeComContact.objects.get().customer == keep
