"""Idempotency-Key: one order for ten parallel retries, replays, a reused key, keys per token."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from huitouke.accounts.tokens import create_api_token
from huitouke.integrations.idempotency import delete_expired
from huitouke.integrations.models import IdempotencyRecord
from huitouke.loyalty.models import PointsEntry
from huitouke.sales.models import Order
from tests.helpers import make_customer

URL = "/api/v1/orders"


def _order_body(customer_id: int, store_id: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "store_id": store_id,
        "lines": [{"name": "玻尿酸精华", "quantity": 2, "unit_price": "150.00"}],
    }


def _post(token: str, body: Any, key: str | None, language: str = "en") -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    if key is not None:
        headers["Idempotency-Key"] = key
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_retries_create_one_order_and_award_points_once(
    org: Any, store1: Any, owner: Any
) -> None:
    customer = make_customer(org, actor=owner, home_store=store1)
    token = create_api_token(owner, "pos", actor=owner)
    body = _order_body(customer.pk, store1.pk)
    barrier = threading.Barrier(10)
    answers: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            barrier.wait()
            response = _post(token, body, '"till-7-sale-0001"')
            answers.append((response.status_code, response.content))
        except BaseException as exc:  # re-raised below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Order.objects.filter(customer=customer).count() == 1
    order = Order.objects.get(customer=customer)
    earned = PointsEntry.objects.filter(customer=customer, kind="earn")
    assert earned.count() == 1 and earned.get().order_id == order.pk
    # Everyone waited for the first answer and got the same one (the wait is 10 s by default).
    assert [status for status, _body in answers] == [201] * 10
    assert {json.loads(content)["id"] for _status, content in answers} == {order.pk}
    assert IdempotencyRecord.objects.get().status_code == 201


def test_a_retry_replays_the_first_answer(org: Any, store1: Any, owner: Any) -> None:
    customer = make_customer(org, actor=owner, home_store=store1)
    token = create_api_token(owner, "pos", actor=owner)
    body = _order_body(customer.pk, store1.pk)
    first = _post(token, body, "k-1")
    # The same JSON with other spacing and key order is the same request.
    again = Client().post(
        URL,
        json.dumps(dict(reversed(list(body.items()))), indent=2),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"},
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    # Without a key, or with another key, it is a new order.
    assert _post(token, body, None).status_code == 201
    assert _post(token, body, "k-2").status_code == 201
    assert Order.objects.count() == 3


def test_the_same_key_with_another_body_is_refused(org: Any, store1: Any, owner: Any) -> None:
    customer = make_customer(org, actor=owner, home_store=store1)
    token = create_api_token(owner, "pos", actor=owner)
    body = _order_body(customer.pk, store1.pk)
    assert _post(token, body, "k-1").status_code == 201
    body["lines"][0]["quantity"] = 3
    response = _post(token, body, "k-1", language="zh-hans")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "idempotency_key_reused"
    assert problem["type"] == "urn:huitouke:problem:idempotency_key_reused"
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in problem["detail"] and problem["title"] != problem["code"]
    assert Order.objects.count() == 1


def test_keys_belong_to_one_token(org: Any, store1: Any, owner: Any, manager: Any) -> None:
    customer = make_customer(org, actor=owner, home_store=store1)
    body = _order_body(customer.pk, store1.pk)
    for user in (owner, manager):
        token = create_api_token(user, "pos", actor=user)
        assert _post(token, body, "same-key").status_code == 201
    assert Order.objects.count() == 2


def test_refusals_are_replayed_but_errors_of_access_are_not(
    org: Any, store1: Any, owner: Any
) -> None:
    token = create_api_token(owner, "pos", actor=owner)
    bad = {"store_id": store1.pk, "lines": []}
    first = _post(token, bad, "k-bad")
    assert first.status_code == 422
    assert _post(token, bad, "k-bad").content == first.content
    assert _post("htk_not-a-token", bad, "k-anon").status_code == 401
    assert not IdempotencyRecord.objects.filter(key="k-anon").exists()


def test_malformed_keys_are_refused(org: Any, store1: Any, owner: Any) -> None:
    token = create_api_token(owner, "pos", actor=owner)
    for key in ("", "x" * 256, "naïve"):
        response = _post(token, {}, key)
        assert response.status_code == 400, key
        assert response.json()["code"] == "invalid_idempotency_key"


def test_expired_answers_are_deleted(org: Any, store1: Any, owner: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    customer = make_customer(org, actor=owner, home_store=store1)
    token = create_api_token(owner, "pos", actor=owner)
    assert _post(token, _order_body(customer.pk, store1.pk), "k-old").status_code == 201
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert delete_expired() == 1
    assert IdempotencyRecord.objects.count() == 0
