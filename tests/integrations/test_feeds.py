"""Change feeds: keyset cursors that never repeat or skip a row, tombstones, scope, no COUNT."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from huitouke.accounts.tokens import create_api_token
from huitouke.customers.duplicates import do_merge_customers
from huitouke.integrations.feeds import encode_cursor
from huitouke.sales.actions import do_refund_order
from tests.helpers import make_customer, make_order


def _feed(token: str, path: str, **params: Any) -> Any:
    return Client().get(
        f"/api/v1/changes/{path}",
        {k: v for k, v in params.items() if v is not None},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )


def _drain(token: str, path: str, cursor: str | None = None, limit: int = 7) -> tuple[list, Any]:
    seen: list[Any] = []
    while True:
        page = _feed(token, path, cursor=cursor, limit=limit).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


@pytest.mark.django_db(transaction=True)
def test_paging_while_rows_are_written_returns_each_row_once(
    org: Any, store1: Any, owner: Any, settings: Any
) -> None:
    settings.FEED_SETTLE_SECONDS = 1
    existing = [make_customer(org, actor=owner).pk for _ in range(20)]
    time.sleep(1.1)
    token = create_api_token(owner, "sync", actor=owner)
    written: list[int] = []
    start = threading.Event()

    def writer() -> None:
        try:
            start.wait()
            for _ in range(25):
                written.append(make_customer(org, actor=owner).pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    ids: list[int] = []
    cursor = None
    start.set()
    for _ in range(6):  # pages read while the writer runs
        page = _feed(token, "customers", cursor=cursor, limit=4).json()
        ids += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
    thread.join()
    time.sleep(1.1)  # past the settle time, every committed row is in the feed
    rest, cursor = _drain(token, "customers", cursor)
    ids += [c["id"] for c in rest]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(existing + written)
    # Polling later from the stored cursor gives nothing new, and then exactly the new row.
    assert _feed(token, "customers", cursor=cursor).json()["items"] == []
    newest = make_customer(org, actor=owner)
    time.sleep(1.1)
    assert [c["id"] for c in _feed(token, "customers", cursor=cursor).json()["items"]] == [
        newest.pk
    ]


@pytest.mark.django_db
def test_feeds_are_scoped_counted_on_request_and_show_changes_again(
    org: Any, store1: Any, owner: Any, staff_a: Any, staff_b: Any, settings: Any
) -> None:
    settings.FEED_SETTLE_SECONDS = 0
    mine = make_customer(org, actor=staff_a, owner=staff_a)
    make_customer(org, actor=staff_b, owner=staff_b)
    order = make_order(mine, store1, unit_price="200.00", actor=staff_a)
    token_a = create_api_token(staff_a, "sync", actor=staff_a)
    page = _feed(token_a, "customers").json()
    assert [c["id"] for c in page["items"]] == [mine.pk]
    assert page["count"] is None
    assert _feed(token_a, "customers", with_count="true").json()["count"] == 1
    orders = _feed(token_a, "orders").json()
    assert [o["id"] for o in orders["items"]] == [order.pk]
    points = _feed(token_a, "points").json()["items"]
    assert [p["order_id"] for p in points] == [order.pk]
    # A refund changes the order: it comes again after the cursor, with its new state.
    do_refund_order(order=order, actor=owner, amount="50.00")
    again = _feed(token_a, "orders", cursor=orders["next_cursor"]).json()["items"]
    assert [o["id"] for o in again] == [order.pk]
    assert _feed(token_a, "messages").status_code == 403


@pytest.mark.django_db
def test_a_merge_leaves_a_tombstone(org: Any, owner: Any, settings: Any) -> None:
    settings.FEED_SETTLE_SECONDS = 0
    keep, duplicate = make_customer(org, actor=owner), make_customer(org, actor=owner)
    token = create_api_token(owner, "sync", actor=owner)
    do_merge_customers(keep=keep, duplicate=duplicate, actor=owner)
    stones = _feed(token, "tombstones").json()["items"]
    assert [(s["kind"], s["object_id"], s["reason"], s["replaced_by_id"]) for s in stones] == [
        ("customer", duplicate.pk, "merged", keep.pk)
    ]
    assert duplicate.pk not in [c["id"] for c in _feed(token, "customers").json()["items"]]


@pytest.mark.django_db
def test_bad_cursors_are_refused(org: Any, owner: Any) -> None:
    token = create_api_token(owner, "sync", actor=owner)
    for cursor in ("garbage", encode_cursor.__name__, "W10"):
        response = _feed(token, "customers", cursor=cursor)
        assert response.status_code == 422, cursor
        assert response.json()["errors"][0]["field"] == "cursor"
