"""WeCom screens: settings (secrets never shown), test, sync, members, transfers, customer panel."""

from __future__ import annotations

from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.customers.ownership import do_hand_over_customers
from huitouke.wecom.models import WeComConnection, WeComMember
from tests.wecom.conftest import AES_KEY
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client: Any, owner: User) -> Any:
    client.force_login(owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_only_the_owner_opens_settings(client: Any, staff_a: User, manager: User) -> None:
    for user in (staff_a, manager):
        client.force_login(user)
        assert client.get("/wecom/").status_code == 403


def test_save_test_and_secrets_never_shown(
    owner_client: Any, standin: WeComStandIn, org: Any
) -> None:
    page = owner_client.get("/wecom/")
    assert page.status_code == 200 and "Not set up yet" in page.content.decode()
    response = owner_client.post(
        "/wecom/",
        {
            "corp_id": standin.corp_id,
            "secret": standin.secret,
            "token": "tok-1",
            "aes_key": AES_KEY,
        },
    )
    assert response.status_code == 302
    html = owner_client.get("/wecom/").content.decode()
    for secret in (standin.secret, "tok-1", AES_KEY, standin.corp_id):
        assert secret not in html
    assert "Saved — leave empty to keep it" in html
    assert f"/wecom/callback/{org.pk}/" in html
    owner_client.post("/wecom/test/")
    html = owner_client.get("/wecom/").content.decode()
    assert 'data-testid="test-ok"' in html and "Connected to WeCom." in html


def test_bad_aes_key_is_refused_next_to_the_field(owner_client: Any) -> None:
    response = owner_client.post("/wecom/", {"aes_key": "too-short"})
    assert response.status_code == 200
    assert "The EncodingAESKey has 43 letters and digits." in response.content.decode()
    assert not WeComConnection.objects.filter(aes_key_enc__gt="").exists()


def test_failed_test_says_what_to_check(
    owner_client: Any, connection: WeComConnection, owner: User
) -> None:
    owner_client.post("/wecom/", {"secret": "wrong-secret"})
    response = owner_client.post("/wecom/test/", follow=True)
    assert "Check the corp ID and secret" in response.content.decode()


def test_sync_then_customer_panel_and_chinese_page(
    owner_client: Any,
    connection: WeComConnection,
    standin: WeComStandIn,
    staff_a: User,
    huey_immediate: Any,
) -> None:
    staff_a.phone = "13700000000"
    staff_a.save(update_fields=["phone"])
    standin.add_member("ua", "小美", mobile="13700000000")
    standin.add_contact(
        "wmP",
        "郑爽",
        {"ua": {"remark": "郑姐<b>", "description": "敏感肌", "createtime": 1700000000}},
    )
    owner_client.post("/wecom/sync/")
    html = owner_client.get("/wecom/").content.decode()
    assert "new customers" in html and 'data-testid="sync-counts"' in html
    member = WeComMember.objects.get()
    assert member.staff == staff_a
    customer = member.organisation.wecomcontact_set.get().customer
    page = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="wecom-panel"' in page and "敏感肌" in page
    assert "郑姐&lt;b&gt;" in page and "郑姐<b>" not in page
    zh = owner_client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "最早添加" in zh.content.decode()
    settings_zh = owner_client.get("/wecom/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "位新客户" in settings_zh and "立即同步客户" in settings_zh


def test_member_mapped_by_hand(
    owner_client: Any, connection: WeComConnection, org: Any, staff_b: User, other_owner: User
) -> None:
    member = WeComMember.objects.create(organisation=org, userid="ux", name="X")
    owner_client.post(f"/wecom/members/{member.pk}/", {"staff": staff_b.pk})
    member.refresh_from_db()
    assert member.staff == staff_b
    # Someone of another organisation cannot be chosen.
    assert (
        owner_client.post(f"/wecom/members/{member.pk}/", {"staff": other_owner.pk}).status_code
        == 404
    )


def test_transfers_page_lists_results(
    owner_client: Any,
    connection: WeComConnection,
    standin: WeComStandIn,
    owner: User,
    staff_a: User,
    staff_b: User,
    huey_immediate: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    empty = owner_client.get("/wecom/transfers/").content.decode()
    assert "No handover has moved WeChat customers yet" in empty
    from huitouke.wecom.sync import do_sync_contacts

    for userid, user, phone in (("ua", staff_a, "13700000001"), ("ub", staff_b, "13700000002")):
        user.phone = phone
        user.save(update_fields=["phone"])
        standin.add_member(userid, str(user), mobile=phone)
    standin.add_contact("wmNo", "冯雪", {"ua": {}})
    standin.transfer_answers["wmNo"] = "refuse"
    do_sync_contacts(connection, actor=owner)
    with django_capture_on_commit_callbacks(execute=True):
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b], actor=owner)
    html = owner_client.get("/wecom/transfers/").content.decode()
    assert 'data-testid="transfer-refused"' in html and "The customer refused" in html
    assert owner_client.post("/wecom/transfers/").status_code == 302


def test_staff_cannot_see_transfers(client: Any, staff_a: User) -> None:
    client.force_login(staff_a)
    assert client.get("/wecom/transfers/").status_code == 403
