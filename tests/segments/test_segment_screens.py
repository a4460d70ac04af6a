"""Segment builder screens and API: save, live count, members within scope, validation messages."""

from __future__ import annotations

import json

from django.urls import reverse
from tests.helpers import make_customer, make_order

from huitouke.segments.models import Segment

VIP = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "tags", "op": "any", "value": ["VIP"]}],
}


def test_owner_saves_a_segment_and_sees_members(client, org, owner, staff_a, store1):
    a = make_customer(org, owner=staff_a, tags=["VIP"], name="甲")
    make_customer(org, owner=staff_a, tags=[], name="乙")
    make_order(a, store1)
    client.force_login(owner)
    response = client.post(
        reverse("segments:create"), {"name": "VIP 客户", "definition": json.dumps(VIP)}
    )
    segment = Segment.objects.get(name="VIP 客户")
    assert response.status_code == 302
    page = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert "甲" in page and "乙" not in page
    assert client.get(reverse("segments:list")).status_code == 200
    assert client.get(reverse("segments:edit", args=[segment.pk])).status_code == 200


def test_live_count_and_clear_errors(client, org, owner):
    make_customer(org, tags=["VIP"])
    client.force_login(owner)
    ok = client.post(reverse("segments:count"), {"definition": json.dumps(VIP)}).content.decode()
    assert 'data-testid="segment-count">1<' in ok
    bad = {"version": 1, "conditions": [{"field": "orders_count", "op": "gt", "value": "lots"}]}
    text = client.post(
        reverse("segments:count"), {"definition": json.dumps(bad)}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    # The field by its label; the path into the JSON stays off the screen (the API keeps it).
    assert "lots" in text and "“Orders” needs a number" in text
    assert "conditions[0]" not in text and "orders_count" not in text


def test_invalid_segment_is_not_saved(client, org, owner):
    client.force_login(owner)
    bad = {"version": 1, "conditions": [{"field": "nope", "op": "eq", "value": 1}]}
    response = client.post(
        reverse("segments:create"), {"name": "坏", "definition": json.dumps(bad)}
    )
    assert response.status_code == 200 and not Segment.objects.exists()


def test_staff_see_only_their_members_and_cannot_edit(client, org, owner, staff_a, staff_b):
    segment = Segment.objects.create(organisation=org, name="VIP", definition=VIP)
    make_customer(org, owner=staff_a, tags=["VIP"], name="我的")
    make_customer(org, owner=staff_b, tags=["VIP"], name="别人的")
    client.force_login(staff_a)
    page = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert "我的" in page and "别人的" not in page
    assert client.get(reverse("segments:edit", args=[segment.pk])).status_code == 403


def test_another_organisations_segment_is_404(client, owner, other_org):
    segment = Segment.objects.create(organisation=other_org, name="theirs", definition=VIP)
    client.force_login(owner)
    assert client.get(reverse("segments:detail", args=[segment.pk])).status_code == 404
    assert client.get(f"/api/v1/segments/{segment.pk}").status_code == 404
    assert client.get(f"/api/v1/segments/{segment.pk}/members").status_code == 404


def test_api_count_and_members(client, org, owner, staff_a):
    make_customer(org, owner=staff_a, tags=["VIP"])
    from huitouke.accounts.tokens import create_api_token

    token = create_api_token(owner, "t", actor=owner)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.post(
        "/api/v1/segments/count",
        json.dumps({"definition": VIP}),
        content_type="application/json",
        **auth,
    ).json() == {"count": 1}
    created = client.post(
        "/api/v1/segments",
        json.dumps({"name": "VIP", "definition": VIP}),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201
    members = client.get(f"/api/v1/segments/{created.json()['id']}/members", **auth).json()
    assert members["count"] == 1
    bad = client.post(
        "/api/v1/segments/count",
        json.dumps({"definition": {"conditions": [{"field": "x", "op": "eq"}]}}),
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422 and "x" in json.dumps(bad.json(), ensure_ascii=False)
