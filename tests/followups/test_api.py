"""Tasks API: my tasks, complete, skip; scoped; bad input answers 4xx with a message."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from huitouke.accounts.tokens import create_api_token
from huitouke.customers.models import Interaction
from tests.followups.conftest import make_task
from tests.helpers import make_customer


@pytest.fixture
def api(db):
    def as_user(user):
        client = Client()
        token = create_api_token(user, "t", actor=user)
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

        def call(method, path, body=None, **params):
            if method == "get":
                return client.get("/api/v1" + path, params, headers=headers)
            return client.post(
                "/api/v1" + path,
                body if isinstance(body, str) else json.dumps(body or {}),
                content_type="application/json",
                headers=headers,
            )

        return call

    return as_user


def test_list_my_tasks_with_filters(api, org, owner, staff_a, staff_b):
    mine = make_customer(org, name="陈静", owner=staff_a)
    overdue = make_task(mine, staff_a, due_at=timezone.now() - timedelta(hours=1))
    later = make_task(mine, staff_a, due_at=timezone.now() + timedelta(days=3))
    make_task(make_customer(org, owner=staff_b), staff_b)
    call = api(staff_a)
    body = call("get", "/tasks").json()
    assert body["count"] == 2 and [t["id"] for t in body["items"]] == [overdue.pk, later.pk]
    assert body["items"][0]["overdue"] is True and body["items"][0]["customer_name"] == "陈静"
    assert [t["id"] for t in call("get", "/tasks", when="overdue").json()["items"]] == [overdue.pk]
    assert [t["id"] for t in call("get", "/tasks", when="upcoming").json()["items"]] == [later.pk]
    # Staff asking for everything still get only their own; the owner gets all three.
    assert call("get", "/tasks", mine="false").json()["count"] == 2
    assert api(owner)("get", "/tasks", mine="false").json()["count"] == 3
    assert api(owner)("get", "/tasks").json()["count"] == 0


def test_complete_and_skip(api, org, staff_a):
    customer = make_customer(org, owner=staff_a)
    a, b = make_task(customer, staff_a), make_task(customer, staff_a)
    call = api(staff_a)
    done = call("post", f"/tasks/{a.pk}/complete", {"outcome": "到店了"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert Interaction.objects.filter(customer=customer).count() == 1
    again = call("post", f"/tasks/{a.pk}/complete", {})
    assert again.status_code == 422 and "already closed" in again.json()["detail"]
    assert call("post", f"/tasks/{b.pk}/skip", {}).status_code == 422
    assert call("post", f"/tasks/{b.pk}/skip", {"reason": ""}).status_code == 422
    skipped = call("post", f"/tasks/{b.pk}/skip", {"reason": "出国"})
    assert skipped.status_code == 200 and skipped.json()["skip_reason"] == "出国"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tasks/0/complete", {}),
        ("/tasks/99999999999999999999/complete", {}),
        ("/tasks/{pk}/complete", "not json"),
        ("/tasks/{pk}/complete", {"outcome": "x" * 2001}),
        ("/tasks/{pk}/skip", {"reason": "\x00"}),
    ],
)
def test_bad_input_is_a_4xx(api, org, staff_a, path, body):
    task = make_task(make_customer(org, owner=staff_a), staff_a)
    response = api(staff_a)("post", path.format(pk=task.pk), body)
    assert 400 <= response.status_code < 500 and response.json()["detail"]


def test_bad_filters_are_422(api, staff_a):
    assert api(staff_a)("get", "/tasks", when="yesterday").status_code == 422
    assert api(staff_a)("get", "/tasks", status="lost").status_code == 422
