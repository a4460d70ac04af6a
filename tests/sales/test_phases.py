"""Product phases: the template days per trade, hand-worked dates in and phases out, the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from tests.helpers import make_customer, make_order, make_product

from huitouke.analytics.models import Report, ReportKind
from huitouke.sales.forms import CategoryForm
from huitouke.sales.models import Category
from huitouke.sales.phases import TEMPLATES, Phase, template_for, windows_for

D = dt.date


def phase(template: str, bought: dt.date, today: dt.date) -> Phase | None:
    return TEMPLATES[template].phase_on((today - bought).days)


@pytest.mark.parametrize(
    ("template", "bought", "today", "expected"),
    [
        # 美妆: care from day 3, the reminder from day 50, lost from day 70.
        ("beauty", D(2026, 3, 1), D(2026, 3, 1), None),
        ("beauty", D(2026, 3, 1), D(2026, 3, 3), None),  # 2 days: just bought
        ("beauty", D(2026, 3, 1), D(2026, 3, 4), Phase.IN_USE),  # day 3
        ("beauty", D(2026, 3, 1), D(2026, 4, 19), Phase.IN_USE),  # day 49
        ("beauty", D(2026, 3, 1), D(2026, 4, 20), Phase.ENDING),  # day 50
        ("beauty", D(2026, 3, 1), D(2026, 5, 9), Phase.ENDING),  # day 69
        ("beauty", D(2026, 3, 1), D(2026, 5, 10), Phase.DORMANT),  # day 70
        # 服装: 当季 3 months, 换季 to half a year, then dormant.
        ("apparel", D(2026, 3, 1), D(2026, 3, 1), Phase.IN_USE),
        ("apparel", D(2026, 3, 1), D(2026, 5, 29), Phase.IN_USE),  # day 89
        ("apparel", D(2026, 3, 1), D(2026, 5, 30), Phase.ENDING),  # day 90
        ("apparel", D(2026, 3, 1), D(2026, 8, 28), Phase.DORMANT),  # day 180
        # 羽绒服: a year; the reminder a month before, dormant after a year and a month.
        ("seasonal", D(2025, 11, 15), D(2026, 10, 15), Phase.IN_USE),  # day 334
        ("seasonal", D(2025, 11, 15), D(2026, 10, 16), Phase.ENDING),  # day 335
        ("seasonal", D(2025, 11, 15), D(2026, 12, 14), Phase.ENDING),  # day 394
        ("seasonal", D(2025, 11, 15), D(2026, 12, 15), Phase.DORMANT),  # day 395
    ],
)
def test_hand_worked_phases(template: str, bought: Any, today: Any, expected: Any) -> None:
    assert phase(template, bought, today) == expected


def test_where_the_days_come_from(org: Any) -> None:
    assert template_for("beauty") == template_for("cosmetics") == "beauty"
    assert template_for("apparel", "连衣裙") == "apparel"
    assert template_for("apparel", "羽绒服") == "seasonal"
    masks = Category(organisation=org, name="面膜")
    assert windows_for(masks, None, "beauty") == TEMPLATES["beauty"]
    masks.phase_use_from, masks.phase_end_from, masks.phase_dormant_from = 2, 20, 40
    own = windows_for(masks, None, "beauty")
    assert (own.use_from, own.end_from, own.dormant_from, own.source) == (2, 20, 40, "category")
    product = make_product(org, phase_use_from=1, phase_end_from=5, phase_dormant_from=9)
    assert windows_for(masks, product, "beauty").source == "product"
    plain = make_product(org, name="面膜B")
    assert windows_for(masks, plain, "beauty").source == "category"


def test_phase_days_must_be_all_or_none_and_rise(org: Any) -> None:
    data = {"name": "面膜", "phase_use_from": 10, "phase_end_from": 5, "phase_dormant_from": 70}
    form = CategoryForm(data, organisation=org)
    assert not form.is_valid() and "phase_end_from" in form.errors
    form = CategoryForm({"name": "面膜", "phase_use_from": 3}, organisation=org)
    assert not form.is_valid()
    form = CategoryForm({"name": "面膜"}, organisation=org)
    assert form.is_valid()
    assert "3" in str(form.fields["phase_use_from"].help_text)


def test_the_pages_show_phases_and_the_learned_cycle(
    client: Any, owner: Any, org: Any, store1: Any
) -> None:
    org.industry = "beauty"
    org.save()
    masks = Category.objects.create(organisation=org, name="面膜")
    Category.objects.create(organisation=org, name="精华")
    Report.objects.create(
        organisation=org,
        kind=ReportKind.CYCLES,
        as_of=D(2026, 3, 31),
        data={
            "categories": [
                {
                    "category_id": masks.pk,
                    "count": 12,
                    "customers": 5,
                    "p25": 24.5,
                    "median": 30.0,
                    "p75": 41.0,
                }
            ]
        },
    )
    client.force_login(owner)
    html = client.get(reverse("sales:products"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "in use from day 3 · running out from day 50 · dormant from day 70" in html
    assert "25–41 days (middle half of 12 gaps)" in html
    assert "not enough repeat purchases yet" in html

    her = make_customer(org, name="王丽", home_store=store1)
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    bought = today - dt.timedelta(days=55)
    make_order(
        her,
        store1,
        product=make_product(org, name="补水面膜", category=masks),
        placed_at=dt.datetime.combine(
            bought, dt.time(15), tzinfo=dt.timezone(dt.timedelta(hours=8))
        ),
    )
    html = client.get(
        reverse("customers:detail", args=[her.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert 'data-testid="purchase-phases"' in html
    assert 'data-phase="ending"' in html and "55 days ago" in html


def test_the_products_show_their_phases_beside_their_learned_cycle(
    client: Any, owner: Any, org: Any
) -> None:
    org.industry = "beauty"
    org.save()
    masks = Category.objects.create(
        organisation=org, name="面膜", phase_use_from=2, phase_end_from=25, phase_dormant_from=40
    )
    sheet = make_product(org, name="补水面膜", category=masks)
    quick = make_product(
        org,
        name="一次性面膜",
        category=masks,
        phase_use_from=1,
        phase_end_from=7,
        phase_dormant_from=14,
    )
    serum = make_product(org, name="精华")  # no category: the trade's template
    Report.objects.create(
        organisation=org,
        kind=ReportKind.CYCLES,
        as_of=D(2026, 3, 31),
        data={
            "categories": [],
            "products": [
                {
                    "product_id": quick.pk,
                    "count": 9,
                    "customers": 4,
                    "p25": 6.25,
                    "median": 8.0,
                    "p75": 10.75,
                }
            ],
        },
    )
    client.force_login(owner)
    html = client.get(reverse("sales:products"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rows = {
        name: html.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
        for name in (sheet.name, quick.name, serum.name)
    }
    assert "in use from day 1 · running out from day 7 · dormant from day 14" in rows[quick.name]
    assert "(its own)" in rows[quick.name]
    assert "6–11 days (middle half of 9 gaps)" in rows[quick.name]
    assert "running out from day 25" in rows[sheet.name] and "(as its category)" in rows[sheet.name]
    assert "gaps" not in rows[sheet.name]
    assert "running out from day 50" in rows[serum.name] and "(template)" in rows[serum.name]
    zh = client.get(reverse("sales:products"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "its own" not in zh and "as its category" not in zh
