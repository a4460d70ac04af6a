"""Joining from a QR code: link or create, owner and source tag, consent, the welcome coupon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from huitouke.automation.engine import process_due
from huitouke.automation.models import AutomationRule, Enrolment, Trigger
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Coupon
from huitouke.members.models import ConsentEvent, JoinCode, Member, SmsCode
from huitouke.members.sessions import COOKIE
from tests.helpers import make_customer
from tests.members.conftest import last_sms_code
from tests.members.helpers import E164, PHONE, code_shown_to_staff, make_join_code

pytestmark = pytest.mark.django_db


def _send_code(client, code: JoinCode, phone: str = PHONE, **headers):
    return client.post(reverse("member:send_code", args=[code.token]), {"phone": phone}, **headers)


def _join(client, code: JoinCode, sms_code: str, **fields):
    data = {"phone": PHONE, "code": sms_code, "name": "林晓雨", "birthday_kind": "solar"}
    data.update(fields)
    return client.post(reverse("member:join", args=[code.token]), data)


def test_new_customer_gets_the_codes_staff_as_owner_and_its_label_as_tag(
    client, owner, staff_a, store1, django_capture_on_commit_callbacks
):
    code = make_join_code(owner, store1, staff=staff_a, label="小美的二维码")
    page = client.get(reverse("member:join", args=[code.token]))
    assert page.status_code == 200 and "weui" in page.content.decode()
    assert _send_code(client, code, HTTP_HX_REQUEST="true").status_code == 200
    response = _join(
        client,
        code,
        code_shown_to_staff(),
        birth_month="3",
        birth_day="8",
        consent_sms="on",
    )
    assert response.status_code == 302 and response["Location"] == reverse("member:home")
    assert COOKIE in response.cookies
    customer = Customer.objects.get(phone=E164)
    assert customer.owner_id == staff_a.pk and customer.home_store_id == store1.pk
    assert list(customer.tags.values_list("name", flat=True)) == ["小美的二维码"]
    assert (customer.birth_month, customer.birth_day) == (3, 8)
    assert (customer.consent_sms, customer.consent_email, customer.consent_wechat) == (
        True,
        False,
        False,
    )
    events = {e.channel: e.granted for e in ConsentEvent.objects.filter(customer=customer)}
    assert events == {"sms": True, "email": False, "wechat": False}
    code.refresh_from_db()
    assert (code.scans, code.codes_sent, code.joins) == (1, 1, 1)
    assert not Member.objects.get(customer=customer).linked_existing


def test_existing_phone_links_to_her_and_keeps_her_owner(client, owner, staff_a, staff_b, store1):
    existing = make_customer(store1.organisation, phone=PHONE, owner=staff_b, name="陈静")
    code = make_join_code(owner, store1, staff=staff_a)
    _send_code(client, code)
    response = _join(client, code, code_shown_to_staff(), name="")
    assert response.status_code == 302
    assert Customer.objects.filter(phone=E164).count() == 1
    existing.refresh_from_db()
    assert existing.owner_id == staff_b.pk and existing.name == "陈静"
    assert Member.objects.get(customer=existing).linked_existing
    page = client.get(reverse("member:home"))
    assert page.status_code == 200 and "陈静" in page.content.decode()


def test_wrong_code_keeps_what_she_typed_and_creates_nobody(client, owner, store1):
    code = make_join_code(owner, store1)
    _send_code(client, code)
    right = code_shown_to_staff()
    response = _join(client, code, "000000" if right != "000000" else "111111")
    body = response.content.decode()
    assert response.status_code == 200
    assert "验证码不正确，还可以再试 4 次" in body
    assert "林晓雨" in body
    assert not Customer.objects.filter(phone=E164).exists()


def test_impossible_birthday_is_refused_before_the_code_is_used(client, owner, store1):
    code = make_join_code(owner, store1)
    _send_code(client, code)
    response = _join(client, code, code_shown_to_staff(), birth_month="2", birth_day="30")
    assert response.status_code == 200
    assert SmsCode.objects.get().consumed_at is None
    assert not Customer.objects.filter(phone=E164).exists()


def test_code_goes_through_the_sms_provider_and_never_onto_the_page(
    client, owner, store1, sms_channel, aliyun, django_capture_on_commit_callbacks
):
    code = make_join_code(owner, store1)
    with django_capture_on_commit_callbacks(execute=True):
        response = _send_code(client, code, HTTP_HX_REQUEST="true")
    sent = last_sms_code(aliyun)
    assert sent not in response.content.decode()
    assert SmsCode.objects.get().shown_to_staff == ""
    assert _join(client, code, sent).status_code == 302


def test_joined_trigger_fires_and_the_welcome_coupon_comes_ten_minutes_later(client, owner, store1):
    code = make_join_code(owner, store1)
    rule = AutomationRule.objects.get(
        organisation=store1.organisation, template_code="member_welcome"
    )
    assert rule.is_active and rule.trigger == Trigger.CUSTOMER_JOINED and rule.delay_minutes == 10
    _send_code(client, code)
    _join(client, code, code_shown_to_staff())
    customer = Customer.objects.get(phone=E164)
    enrolment = Enrolment.objects.get(rule=rule, customer=customer)
    assert enrolment.occurrence_key == "joined"
    process_due(now=timezone.now() + timedelta(minutes=9))
    assert not Coupon.objects.filter(customer=customer).exists()
    process_due(now=timezone.now() + timedelta(minutes=11))
    coupon = Coupon.objects.get(customer=customer)
    assert coupon.template.name == "9折新人券" and coupon.template.percent_off == 10
    page = client.get(reverse("member:home")).content.decode()
    assert coupon.code in page


def test_second_join_signs_her_in_without_changing_consent_or_firing_again(client, owner, store1):
    code = make_join_code(owner, store1)
    _send_code(client, code)
    _join(client, code, code_shown_to_staff(), consent_sms="on")
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    client.cookies.clear()
    _send_code(client, code)
    response = _join(client, code, code_shown_to_staff())
    assert response.status_code == 302
    customer = Customer.objects.get(phone=E164)
    assert customer.consent_sms is True
    assert Enrolment.objects.filter(customer=customer, rule__trigger="customer_joined").count() == 1
    code.refresh_from_db()
    assert code.joins == 1


def test_archive_fields_the_code_asks_for_are_saved(client, owner, store1):
    from huitouke.customers.archive_fields import apply_industry_template

    apply_industry_template(store1.organisation, "beauty")
    code = make_join_code(owner, store1, fields=["occupation", "no_such_field"])
    assert code.fields == ["occupation"]
    page = client.get(reverse("member:join", args=[code.token])).content.decode()
    assert 'name="custom_occupation"' in page and 'name="custom_title"' not in page
    _send_code(client, code)
    assert _join(client, code, code_shown_to_staff(), custom_occupation="教师").status_code == 302
    assert Customer.objects.get(phone=E164).custom == {"occupation": "教师"}


@pytest.mark.parametrize(
    "fields",
    [
        {"birth_year": "abc", "birth_month": "3", "birth_day": "8"},
        {"birth_month": "13", "birth_day": "8"},
        {"birthday_kind": "martian", "birth_month": "3", "birth_day": "8"},
        {"birth_year": "2999", "birth_month": "3", "birth_day": "8"},
        {"phone": "not a phone"},
        {"phone": ""},
    ],
)
def test_bad_input_is_explained_on_the_page_never_a_500(client, owner, store1, fields):
    code = make_join_code(owner, store1)
    response = _join(client, code, "123456", **fields)
    assert response.status_code == 200
    assert "weui-cells__tips_warn" in response.content.decode()
    assert not Customer.objects.exists()
