"""The dashboard lists say what they claim: a hand-built shop where the right answer is known.

As of 2026-06-30, silent after 90 days (no category cycles):
- 甲 76, 乙 77, 丙 90, 丁 91, 戊 85 days since their only order. 乙 turns silent in 14 days
  (on 07-14), 丙 tomorrow, 戊 in 6 days; 甲 only in 15 days and 丁 is silent already.
- Twenty orders in June, by fourteen customers (six of them twice): 6 × 面膜+精华, 4 × 面膜,
  2 × 面膜+口红, 6 × 口红, 1 × 洗发水+护发素, 1 × 精华. 面膜 is in 12, 精华 in 7, 口红 in 8:
  面膜+精华 lift 6·20/(12·7) = 1.43, support 30%; 面膜+口红 lift 2·20/(12·8) = 0.42;
  洗发水+护发素 lift 20 but in one order only. Repurchase rate 6/14 = 42.9%.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from tests.helpers import make_customer, make_product

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import CustomerAnalytics
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Category

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")
BASKETS = [
    *[("面膜", "精华")] * 6,
    *[("面膜",)] * 4,
    *[("面膜", "口红")] * 2,
    *[("口红",)] * 6,
    ("洗发水", "护发素"),
    ("精华",),
]


def on(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_ago), dt.time(15), tzinfo=TZ)


def order(org: Any, store: Any, customer: Any, products: list[Any], days_ago: int) -> None:
    do_record_order(
        organisation=org,
        store=store,
        customer=customer,
        lines=[LineInput(quantity=1, product=p, unit_price=Decimal("100")) for p in products],
        actor=None,
        placed_at=on(days_ago),
    )


@pytest.fixture
def shop(org: Any, store1: Any) -> dict[str, Any]:
    products = {}
    for name in ("面膜", "精华", "口红", "洗发水", "护发素"):
        category = Category.objects.create(organisation=org, name=name)
        products[name] = make_product(org, name=f"{name}A", category=category)
    people = {}
    for name, days in (("甲", 76), ("乙", 77), ("丙", 90), ("丁", 91), ("戊", 85)):
        people[name] = make_customer(org, name=name, home_store=store1)
        # An item without a category: no basket of categories.
        order(org, store1, people[name], [make_product(org, name=f"礼品{name}")], days)
    buyers = [make_customer(org, name=f"顾客{i}", home_store=store1) for i in range(14)]
    for index, basket in enumerate(BASKETS):
        # Orders 0-11 go two by two to the first six buyers, 12-19 one each to the others.
        buyer = buyers[index // 2] if index < 12 else buyers[index - 6]
        order(org, store1, buyer, [products[n] for n in basket], index + 1)
    refresh_organisation(org, AS_OF)
    values = {"甲": 900, "乙": 300, "丙": None, "丁": 1000, "戊": 800}
    for name, value in values.items():
        CustomerAnalytics.objects.filter(customer=people[name]).update(predicted_clv=value)
    return people


def section(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</section>', html, re.S)
    assert found is not None
    return found.group(1)


def test_about_to_go_silent_lists_only_the_next_14_days_by_value(client, owner, shop) -> None:
    client.force_login(owner)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    listed = section(html, "turning-silent")
    assert re.findall(r">(\w)</a>", listed) == ["戊", "乙", "丙"]
    assert "silent in 14 days (07-14)" in listed
    assert "silent in 1 day (07-01)" in listed
    assert "silent in 6 days (07-06)" in listed


def test_bought_together_shows_only_pairs_with_lift_and_support(client, owner, shop) -> None:
    client.force_login(owner)
    html = client.get(reverse("analytics:overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    baskets = section(html, "baskets")
    rows = re.findall(
        r"<tr><td>([^<]+ \+ [^<]+)</td><td class=\"num\">(\d+)</td>"
        r"<td class=\"num\">([\d.]+%)</td>",
        baskets,
    )
    category_rows = [r for r in rows if "A" not in r[0]]
    assert category_rows == [("面膜 + 精华", "6", "30.0%")]
    assert "1.43" in baskets and "面膜 + 口红" not in baskets and "洗发水 + 护发素" not in baskets
    assert "at least 3 orders" in baskets


def test_rates_are_explained_in_one_line(client, owner, shop) -> None:
    client.force_login(owner)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r'data-testid="kpi-repurchase_rate">\s*42\.9%', html)
    assert "本期购买客户中，本期下单至少两次的比例" in html
    hint = re.search(r'data-testid="kpi-hint-second_purchase_rate">([^<]+)<', html)
    assert hint is not None
    assert hint.group(1) == "首单在 2026-03-03 – 2026-04-01 的客户中，90 天内再次购买的比例。"
