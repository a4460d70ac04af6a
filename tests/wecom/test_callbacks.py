"""The callback endpoint: URL verification, refusals, events applied once and in any order."""

from __future__ import annotations

import time
from itertools import count
from typing import Any

import pytest

from huitouke.accounts.models import User
from huitouke.customers.models import Customer, Interaction
from huitouke.wecom.crypto import WeComCrypto
from huitouke.wecom.models import FollowState, WeComConnection, WeComContact, WeComFollow
from huitouke.wecom.sync import do_sync_contacts
from tests.wecom.conftest import AES_KEY, TOKEN
from tests.wecom.standin import WeComStandIn

pytestmark = pytest.mark.django_db
_nonces = count(1000)


class Sender:
    """Delivers callbacks to the endpoint the way WeCom does (signed, encrypted)."""

    def __init__(self, client: Any, connection: WeComConnection, corp_id: str) -> None:
        self.client = client
        self.url = f"/wecom/callback/{connection.organisation_id}/"
        self.box = WeComCrypto(TOKEN, AES_KEY, corp_id)

    def event(self, change_type: str, userid: str, ext: str, at: int, **extra: str) -> bytes:
        more = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items())
        return (
            "<xml><ToUserName><![CDATA[corp]]></ToUserName>"
            "<FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_external_contact]]></Event>"
            f"<ChangeType><![CDATA[{change_type}]]></ChangeType>"
            f"<UserID><![CDATA[{userid}]]></UserID>"
            f"<ExternalUserID><![CDATA[{ext}]]></ExternalUserID>{more}</xml>"
        ).encode()

    def post(self, plain: bytes, *, nonce: str | None = None, timestamp: str | None = None) -> Any:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(next(_nonces))
        encrypt, signature = self.box.seal(plain, timestamp=timestamp, nonce=nonce)
        body = f"<xml><ToUserName><![CDATA[corp]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        query = f"?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
        return self.client.post(self.url + query, data=body, content_type="text/xml")


@pytest.fixture
def sender(client: Any, connection: WeComConnection, standin: WeComStandIn) -> Sender:
    return Sender(client, connection, standin.corp_id)


@pytest.fixture
def member_a(standin: WeComStandIn, staff_a: User, connection: WeComConnection) -> str:
    staff_a.phone = "13700000000"
    staff_a.save(update_fields=["phone"])
    standin.add_member("ua", "小美", mobile="13700000000")
    do_sync_contacts(connection, actor=None)
    return "ua"


def test_url_verification_echoes_the_plaintext(sender: Sender) -> None:
    timestamp, nonce = str(int(time.time())), "778899"
    echostr, signature = sender.box.seal(b"echo-42", timestamp=timestamp, nonce=nonce)
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    response = sender.client.get(sender.url, query)
    assert response.status_code == 200 and response.content == b"echo-42"
    # The same request again is a replay.
    assert sender.client.get(sender.url, query).status_code == 403


def test_refusals(sender: Sender, standin: WeComStandIn, member_a: str) -> None:
    plain = sender.event("add_external_contact", member_a, "wmX", int(time.time()))
    stale = str(int(time.time()) - 3600)
    assert sender.post(plain, timestamp=stale).status_code == 403
    other = WeComCrypto(TOKEN, AES_KEY, "wwOtherCorp")
    timestamp, nonce = str(int(time.time())), "1"
    encrypt, signature = other.seal(plain, timestamp=timestamp, nonce=nonce)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    url = f"{sender.url}?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
    assert sender.client.post(url, data=body, content_type="text/xml").status_code == 403
    url = f"{sender.url}?msg_signature={'0' * 40}&timestamp={timestamp}&nonce=2"
    assert sender.client.post(url, data=body, content_type="text/xml").status_code == 403
    dtd = b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert sender.client.post(url, data=dtd, content_type="text/xml").status_code == 403
    assert sender.client.get("/wecom/callback/999999/").status_code == 404
    assert not Customer.objects.exists()


def test_replayed_nonce_is_refused(sender: Sender, standin: WeComStandIn, member_a: str) -> None:
    standin.add_contact("wmR", "刘洋", {member_a: {}})
    plain = sender.event("add_external_contact", member_a, "wmR", int(time.time()))
    timestamp = str(int(time.time()))
    assert sender.post(plain, nonce="555", timestamp=timestamp).status_code == 200
    again = sender.event("edit_external_contact", member_a, "wmR", int(time.time()) + 1)
    assert sender.post(again, nonce="555", timestamp=timestamp).status_code == 403
    assert sender.post(again, nonce="556", timestamp=timestamp).status_code == 200


def test_add_delivered_twice_creates_one_customer(
    sender: Sender, standin: WeComStandIn, member_a: str, staff_a: User
) -> None:
    standin.add_contact("wmN", "孙丽", {member_a: {"remark": "孙姐", "createtime": 1700000000}})
    plain = sender.event("add_external_contact", member_a, "wmN", int(time.time()))
    assert sender.post(plain).content == b"success"
    assert sender.post(plain).content == b"success"  # WeCom's retry: new nonce, same event
    customer = Customer.objects.get()
    assert customer.name == "孙姐" and customer.owner == staff_a
    assert WeComContact.objects.get().customer == customer


def test_edit_updates_the_follow_once(sender: Sender, standin: WeComStandIn, member_a: str) -> None:
    contact = standin.add_contact("wmE", "赵敏", {member_a: {"remark": "赵"}})
    now = int(time.time())
    sender.post(sender.event("add_external_contact", member_a, "wmE", now))
    contact.follows[member_a]["remark"] = "赵敏-VIP"
    contact.follows[member_a]["description"] = "喜欢玫瑰"
    edit = sender.event("edit_external_contact", member_a, "wmE", now + 1)
    sender.post(edit)
    sender.post(edit)
    follow = WeComFollow.objects.get()
    assert (follow.remark, follow.description) == ("赵敏-VIP", "喜欢玫瑰")
    assert Customer.objects.count() == 1


def test_out_of_order_edit_before_add(sender: Sender, standin: WeComStandIn, member_a: str) -> None:
    standin.add_contact("wmO", "钱多", {member_a: {"remark": "钱"}})
    now = int(time.time())
    sender.post(sender.event("edit_external_contact", member_a, "wmO", now + 1))
    sender.post(sender.event("add_external_contact", member_a, "wmO", now))
    assert Customer.objects.count() == 1 and WeComFollow.objects.count() == 1


def test_delete_marks_and_never_deletes(
    sender: Sender, standin: WeComStandIn, member_a: str
) -> None:
    contact = standin.add_contact("wmD", "周杰", {member_a: {}})
    now = int(time.time())
    sender.post(sender.event("add_external_contact", member_a, "wmD", now))
    sender.post(sender.event("del_follow_user", member_a, "wmD", now + 10))
    sender.post(sender.event("del_follow_user", member_a, "wmD", now + 10))
    follow = WeComFollow.objects.get()
    assert follow.state == FollowState.SHE_DELETED
    customer = Customer.objects.get()
    assert Interaction.objects.filter(customer=customer).count() == 1
    # The late add (older than the delete) does not bring her back, even if WeCom still lists her.
    sender.post(sender.event("edit_external_contact", member_a, "wmD", now + 5))
    assert WeComFollow.objects.get().state == FollowState.SHE_DELETED
    # An older staff-side delete arriving after is ignored too.
    sender.post(sender.event("del_external_contact", member_a, "wmD", now + 2))
    assert WeComFollow.objects.get().state == FollowState.SHE_DELETED
    del contact.follows[member_a]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_staff_deleting_her_is_marked(sender: Sender, standin: WeComStandIn, member_a: str) -> None:
    standin.add_contact("wmS", "吴桐", {member_a: {}})
    now = int(time.time())
    sender.post(sender.event("del_external_contact", member_a, "wmS", now + 5))  # before the add
    assert not WeComFollow.objects.exists()
    sender.post(sender.event("add_external_contact", member_a, "wmS", now))
    sender.post(sender.event("del_external_contact", member_a, "wmS", now + 6))
    assert WeComFollow.objects.get().state == FollowState.STAFF_DELETED


def test_wecom_unreachable_is_retried_by_wecom(
    sender: Sender, standin: WeComStandIn, member_a: str
) -> None:
    standin.add_contact("wmU", "冯", {member_a: {}})
    plain = sender.event("add_external_contact", member_a, "wmU", int(time.time()))
    timestamp = str(int(time.time()))
    standin.fail_next(40001)  # WeCom answers an error while we read the contact
    assert sender.post(plain, nonce="900", timestamp=timestamp).status_code == 503
    assert not Customer.objects.exists()
    # WeCom's retry of the same delivery goes through.
    assert sender.post(plain, nonce="900", timestamp=timestamp).content == b"success"
    assert Customer.objects.count() == 1
