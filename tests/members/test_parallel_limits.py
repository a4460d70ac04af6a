"""The limits hold under parallel requests: real threads, each with its own PostgreSQL connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from huitouke.members.models import SmsCode
from huitouke.members.sms import request_code

pytestmark = [pytest.mark.django_db(transaction=True)]


def _in_parallel(org, calls: list[tuple[str, str]]) -> Counter[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(phone: str, ip: str) -> None:
        try:
            barrier.wait()
            try:
                request_code(organisation=org, raw_phone=phone, ip=ip)
                result = "sent"
            except ValidationError as exc:
                result = next(iter(exc.error_dict.values()))[0].code or "refused"
            with lock:
                outcomes[result] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.fixture
def pg_only(is_postgres):
    if not is_postgres:
        pytest.skip("parallel connections: PostgreSQL (SQLite serialises writers itself)")


def test_twenty_parallel_requests_for_one_phone_send_one_code(pg_only, org):
    outcomes = _in_parallel(org, [("13800138000", f"10.0.0.{i}") for i in range(20)])
    assert outcomes == Counter({"sent": 1, "too_soon": 19})
    assert SmsCode.objects.filter(phone="+8613800138000").count() == 1


def test_twenty_five_parallel_requests_from_one_ip_send_twenty(pg_only, org):
    outcomes = _in_parallel(org, [(f"1390000{i:04d}", "10.9.9.9") for i in range(25)])
    assert outcomes == Counter({"sent": 20, "ip_hour": 5})
    assert SmsCode.objects.filter(ip="10.9.9.9").count() == 20
