"""Staff side: QR codes (make, SVG, PNG, A6 print) in scope, members list filter, codes on the outbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huitouke.members.models import JoinCode
from huitouke.members.sms import request_code
from tests.helpers import make_customer
from tests.members.helpers import make_join_code

pytestmark = pytest.mark.django_db


def test_owner_makes_a_code_and_gets_its_images(client, owner, staff_a, store1):
    client.force_login(owner)
    response = client.post(
        reverse("members:codes"),
        {"store": store1.pk, "staff": staff_a.pk, "label": "小美的二维码", "source": "walk_in"},
    )
    assert response.status_code == 302
    code = JoinCode.objects.get()
    assert code.staff_id == staff_a.pk
    page = client.get(reverse("members:codes")).content.decode()
    assert "小美的二维码" in page and code.token in page
    assert 'data-testid="join-funnel"' in page
    svg = client.get(reverse("members:code_svg", args=[code.pk]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    png = client.get(reverse("members:code_png", args=[code.pk]))
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    printed = client.get(reverse("members:code_print", args=[code.pk])).content.decode()
    assert "A6" in printed and store1.organisation.name in printed


def test_staff_see_and_make_only_their_own_codes(client, owner, staff_a, staff_b, store1):
    theirs = make_join_code(owner, store1, staff=staff_b, label="小丽")
    client.force_login(staff_a)
    assert client.get(reverse("members:code_svg", args=[theirs.pk])).status_code == 404
    response = client.post(
        reverse("members:codes"),
        {"store": store1.pk, "staff": staff_b.pk, "label": "冒充", "source": "walk_in"},
    )
    assert response.status_code == 200
    assert not JoinCode.objects.filter(label="冒充").exists()


def test_members_list_filters_joined_by_qr(client, owner, staff_a, store1):
    from huitouke.members.actions import do_join

    code = make_join_code(owner, store1, staff=staff_a)
    make_customer(store1.organisation, phone="13800138009", name="老客户")
    do_join(code=code, phone="+8613800138009", name="", birthday={}, custom={}, consents={})
    do_join(code=code, phone="+8613800138010", name="新会员", birthday={}, custom={}, consents={})
    client.force_login(owner)
    everyone = client.get(reverse("members:list")).content.decode()
    assert "老客户" in everyone and "新会员" in everyone
    by_qr = client.get(reverse("members:list"), {"joined": "qr"}).content.decode()
    assert "新会员" in by_qr and "老客户" not in by_qr


def test_outbox_shows_codes_of_a_shop_without_sms(client, owner, manager, store1, store2):
    code = make_join_code(owner, store1)
    request_code(
        organisation=store1.organisation, raw_phone="13800138000", ip="1.1.1.1", join_code=code
    )
    client.force_login(manager)
    page = client.get(reverse("messaging:outbox")).content.decode()
    assert 'data-testid="member-code"' in page and "138****8000" in page
    other = make_join_code(owner, store2, label="国贸")
    request_code(
        organisation=store1.organisation, raw_phone="13800138001", ip="1.1.1.2", join_code=other
    )
    page = client.get(reverse("messaging:outbox")).content.decode()
    assert "138****8001" not in page  # another store's code


def test_dashboard_shows_the_join_funnel_once_there_are_codes(client, owner, store1):
    client.force_login(owner)
    assert 'data-testid="dashboard-join-funnel"' not in client.get("/").content.decode()
    code = make_join_code(owner, store1)
    client.get(reverse("member:join", args=[code.token]))
    page = client.get("/").content.decode()
    assert 'data-testid="dashboard-join-funnel"' in page and "<strong>1</strong>" in page
