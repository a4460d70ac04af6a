"""SMS sign-in codes: hashed, 5 minutes, 5 attempts, one use, limits per phone and per IP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from huitouke.members.models import SmsCode
from huitouke.members.sms import request_code, verify_code
from tests.helpers import make_customer
from tests.members.helpers import E164, PHONE, code_shown_to_staff

pytestmark = pytest.mark.django_db


def _error(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


def test_code_is_stored_hashed_and_verifies_once(org):
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1")
    row = SmsCode.objects.get()
    code = code_shown_to_staff()
    assert code not in row.code_hash and len(code) == 6
    assert verify_code(organisation=org, raw_phone="138 0013 8000", code=code) == E164
    with pytest.raises(ValidationError) as exc:
        verify_code(organisation=org, raw_phone=PHONE, code=code)
    assert "already been used" in _error(exc)


def test_expired_code_is_refused(org):
    start = timezone.now() - timedelta(minutes=6)
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1", now=start)
    with pytest.raises(ValidationError) as exc:
        verify_code(organisation=org, raw_phone=PHONE, code=code_shown_to_staff())
    assert "expired" in _error(exc)


def test_wrong_code_counts_attempts_then_locks_the_code(org):
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1")
    right = code_shown_to_staff()
    wrong = "000000" if right != "000000" else "111111"
    messages = []
    for _ in range(5):
        with pytest.raises(ValidationError) as exc:
            verify_code(organisation=org, raw_phone=PHONE, code=wrong)
        messages.append(_error(exc))
    assert messages[0] == "The code is not right. 4 tries left."
    assert messages[3] == "The code is not right. 1 try left."
    assert "Too many wrong tries" in messages[4]
    # Even the right code no longer opens: she must ask for a new one.
    with pytest.raises(ValidationError) as exc:
        verify_code(organisation=org, raw_phone=PHONE, code=right)
    assert "Too many wrong tries" in _error(exc)
    assert SmsCode.objects.get().attempts == 5


def test_no_code_asked_and_a_superseded_code(org):
    with pytest.raises(ValidationError) as exc:
        verify_code(organisation=org, raw_phone=PHONE, code="123456")
    assert "Ask for a code first" in _error(exc)
    earlier = timezone.now() - timedelta(minutes=2)
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1", now=earlier)
    first = code_shown_to_staff()
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1")
    second = code_shown_to_staff()
    if first != second:
        with pytest.raises(ValidationError):
            verify_code(organisation=org, raw_phone=PHONE, code=first)
    assert verify_code(organisation=org, raw_phone=PHONE, code=second) == E164


def test_one_code_a_minute_per_phone(org):
    request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.1")
    with pytest.raises(ValidationError) as exc:
        request_code(organisation=org, raw_phone=PHONE, ip="10.0.0.2")
    assert "You can ask for a new one in" in _error(exc)
    assert SmsCode.objects.count() == 1


def test_ten_codes_a_day_per_phone(org):
    now = timezone.now()
    for i in range(10):
        request_code(
            organisation=org, raw_phone=PHONE, ip=f"10.0.0.{i}", now=now - timedelta(hours=10 - i)
        )
    with pytest.raises(ValidationError) as exc:
        request_code(organisation=org, raw_phone=PHONE, ip="10.0.1.1", now=now)
    assert "today" in _error(exc)


def test_twenty_codes_an_hour_per_ip(org):
    now = timezone.now()
    for i in range(20):
        request_code(organisation=org, raw_phone=f"1390000{i:04d}", ip="10.9.9.9", now=now)
    with pytest.raises(ValidationError) as exc:
        request_code(organisation=org, raw_phone="13911112222", ip="10.9.9.9", now=now)
    assert "network" in _error(exc)
    request_code(organisation=org, raw_phone="13911112222", ip="10.9.9.8", now=now)


@override_settings(MEMBER_CODES_PER_PHONE_DAY=2)
def test_limits_come_from_settings(org):
    now = timezone.now()
    request_code(organisation=org, raw_phone=PHONE, ip="1.1.1.1", now=now - timedelta(hours=2))
    request_code(organisation=org, raw_phone=PHONE, ip="1.1.1.1", now=now - timedelta(hours=1))
    with pytest.raises(ValidationError):
        request_code(organisation=org, raw_phone=PHONE, ip="1.1.1.1", now=now)


def test_same_answer_for_known_and_unknown_phones(org, staff_a):
    make_customer(org, phone="13800138001", owner=staff_a)
    known = request_code(organisation=org, raw_phone="13800138001", ip="1.1.1.1").message
    unknown = request_code(organisation=org, raw_phone="13800138002", ip="1.1.1.2").message
    assert known == unknown


def test_not_a_phone_is_refused_with_the_value(org):
    with pytest.raises(ValidationError) as exc:
        request_code(organisation=org, raw_phone="12345", ip="1.1.1.1")
    assert "12345" in _error(exc)
    assert not SmsCode.objects.exists()
