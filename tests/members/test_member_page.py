"""Her member page: points, tier gap, coupons, consent withdrawn in one tap (and honoured by the
next automation message), a data request that reaches the owner's to-do list."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from huitouke.automation.actions import do_save_rule, new_rule
from huitouke.automation.engine import on_customer_joined, process_due
from huitouke.automation.models import Trigger
from huitouke.followups.models import FollowUpTask
from huitouke.members.models import ConsentEvent
from huitouke.members.sessions import COOKIE, start_session
from huitouke.messaging.models import (
    Channel,
    Message,
    MessageStatus,
    MessageTemplate,
    SuppressReason,
)
from huitouke.messaging.setup_actions import do_save_template
from tests.helpers import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(org, staff_a):
    return make_customer(org, owner=staff_a, name="林晓雨", consent_sms=True, gender="f")


@pytest.fixture
def member_client(client, member):
    response = HttpResponse()
    start_session(response, member)
    client.cookies[COOKIE] = response.cookies[COOKIE].value
    return client


def test_page_shows_points_tier_gap_and_member_code(member_client, member, store1):
    from huitouke.loyalty.program import ensure_program

    ensure_program(member.organisation)
    make_order(member, store1, unit_price="250.00")
    body = member_client.get(reverse("member:home")).content.decode()
    assert "林女士" in body
    assert 'data-testid="points"' in body and ">250<" in body  # 1 point per yuan by default
    assert "再消费 ¥50 升级" in body  # the page speaks Chinese by default
    assert 'data-testid="pass-number"' in body and "<svg" in body
    fragment = member_client.get(reverse("member:pass"))
    assert fragment.status_code == 200 and "every 60s" in fragment.content.decode()


def test_withdrawn_consent_stops_the_next_automation_message(member_client, member, owner):
    template = do_save_template(
        MessageTemplate(
            organisation=member.organisation, name="hi", channel=Channel.SMS, body="您好"
        ),
        actor=owner,
    )
    rule = do_save_rule(
        new_rule(
            member.organisation,
            name="SMS to joiners",
            trigger=Trigger.CUSTOMER_JOINED,
            actions=[{"type": "send_message", "channel": "sms", "template": template.pk}],
            holdout_share=Decimal("0"),
            is_active=True,
        ),
        actor=owner,
    )
    on_customer_joined(member)
    response = member_client.post(reverse("member:consent"), {"channel": "sms", "granted": "0"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.consent_sms is False
    event = ConsentEvent.objects.get(customer=member)
    assert (event.channel, event.granted, event.source) == ("sms", False, "member_page")
    process_due(now=timezone.now() + timedelta(minutes=1))
    message = Message.objects.get(customer=member, rule=rule)
    assert (
        message.status == MessageStatus.SUPPRESSED and message.reason == SuppressReason.NO_CONSENT
    )
    body = member_client.get(reverse("member:home")).content.decode()
    assert 'data-testid="withdraw-sms"' not in body


def test_data_request_lands_in_the_owners_tasks_once(member_client, member, owner):
    member_client.post(reverse("member:data_request"), {"kind": "delete"})
    member_client.post(reverse("member:data_request"), {"kind": "delete"})
    task = FollowUpTask.objects.get(customer=member)
    assert task.assignee_id == owner.pk and "删除" in task.title
    member_client.post(reverse("member:data_request"), {"kind": "see"})
    assert FollowUpTask.objects.filter(customer=member).count() == 2
    assert member_client.post(reverse("member:data_request"), {"kind": "x"}).status_code == 302


def test_sign_out_ends_the_session(member_client):
    member_client.post(reverse("member:sign_out"))
    assert member_client.get(reverse("member:home")).status_code == 302


def test_expired_sessions_and_old_codes_are_purged(member_client, member, org):
    from huitouke.members.actions import do_purge_expired
    from huitouke.members.models import MemberSession, SmsCode
    from huitouke.members.sms import request_code

    request_code(organisation=org, raw_phone="13800138000", ip="1.1.1.1")
    assert do_purge_expired() == 0
    assert do_purge_expired(now=timezone.now() + timedelta(days=31)) == 2
    assert not MemberSession.objects.exists() and not SmsCode.objects.exists()
    assert member_client.get(reverse("member:home")).status_code == 302
