"""In the browser on a 390×844 phone as staff: the before-the-call card and the timeline.

The card shows every archive field filled in the fixture (and family, address, email, points,
a usable coupon, the owner, the call button); the timeline's filter and paging work with and
without JavaScript. Screenshots at both widths, zh and en, go to var/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from tests.e2e.conftest import log_in
from tests.followups.conftest import make_task
from tests.helpers import PASSWORD, make_customer, make_order, make_product

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import CustomerAnalytics, CustomerDue
from huitouke.analytics.queries import lifecycle_reason, stage_label
from huitouke.customers.actions import do_add_interaction
from huitouke.customers.archive_fields import apply_industry_template
from huitouke.customers.models import CustomField, FamilyMember, Interaction, Relation
from huitouke.followups.models import FollowUpTask
from huitouke.loyalty import coupons
from huitouke.loyalty.models import CouponKind, CouponTemplate, PointsEntry, Tier
from huitouke.loyalty.program import ensure_program
from huitouke.messaging.models import Message
from huitouke.sales.models import Category, Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CONTACTS = 27  # more than one timeline page (20) of contacts alone


def _value_for(field: CustomField, n: int) -> Any:
    """A value for each archive field, picked from its definition (not from the page)."""
    if field.type == "multi":
        return field.choices[:2]
    if field.type == "choice":
        return field.choices[-1]
    if field.type == "number":
        return 30 + n
    return f"{field.label}·{n}"


def _shown(value: Any) -> str:
    return "、".join(value) if isinstance(value, list) else str(value)


@pytest.fixture
def her(org, store1, staff_a, owner):
    apply_industry_template(org, "beauty")
    with translation.override("zh-hans"):  # the tiers are named in the shop's language
        ensure_program(org)
    fields = list(CustomField.objects.filter(organisation=org))
    custom = {f.key: _value_for(f, n) for n, f in enumerate(fields)}
    customer = make_customer(
        org,
        name="欧阳晶",
        gender="f",
        phone="13912345678",
        owner=staff_a,
        home_store=store1,
        address="上海市静安区南京西路 1266 号",
        email="ouyang@example.com",
        wechat_id="ouyang_jing",
        custom=custom,
    )
    FamilyMember.objects.create(
        customer=customer,
        relation=Relation.CHILD,
        name="乐乐",
        birth_year=2018,
        birth_month=6,
        birth_day=1,
    )
    # A category with a repurchase cycle: the second order is 12 days ago, the cycle 10 days, so
    # the nightly refresh finds her due for it.
    toner = Category.objects.create(organisation=org, name="爽肤水", cycle_days=10)
    product = make_product(org, name="玫瑰精华水", price="380.00", category=toner)
    make_order(customer, store1, product=product, placed_at=timezone.now() - timedelta(days=40))
    make_order(customer, store1, product=product, placed_at=timezone.now() - timedelta(days=12))
    template = CouponTemplate.objects.create(
        organisation=org,
        name="满300减50",
        kind=CouponKind.AMOUNT_OFF,
        amount=Decimal("50"),
        threshold=Decimal("300"),
        valid_days=30,
    )
    coupon = coupons.do_issue_coupon(template, customer, actor=owner)
    for i in range(CONTACTS):
        do_add_interaction(
            customer,
            actor=staff_a,
            kind="call",
            note=f"第{i}次回访",
            occurred_at=timezone.now() - timedelta(days=60 + i),
        )
    Message.objects.create(
        organisation=org,
        customer=customer,
        channel="sms",
        body="欧阳女士，您的积分即将到期",
        idempotency_key="card-test-1",
    )
    make_task(customer, staff_a, title="周年回访", due_at=timezone.now() + timedelta(days=1))
    run = refresh_organisation(org)  # lifecycle, value class and what is due come from it
    assert run is not None and run.status == "done", run and run.detail
    return {"customer": customer, "fields": fields, "custom": custom, "coupon": coupon}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_the_card_shows_every_filled_archive_field_and_the_timeline_pages(page, her, staff_a):
    customer = her["customer"]
    log_in(page, "staff_a", PASSWORD)
    page.goto(page.base_url + f"/customers/{customer.pk}/")
    card = page.locator("[data-testid=call-card]")
    # At the top of her page: above the timeline, its first facts on the first phone screen.
    assert card.bounding_box()["y"] < page.locator("#timeline").bounding_box()["y"]
    points_box = card.locator("[data-testid=card-points]").bounding_box()
    assert points_box["y"] + points_box["height"] <= 844
    text = card.inner_text()
    assert "欧阳女士" in text  # the salutation of a compound surname
    for field in her["fields"]:
        assert field.label in text, field.label
        assert _shown(her["custom"][field.key]) in text, field.key
    family = card.locator("[data-testid=card-family]").inner_text()
    assert "乐乐" in family and "2018" in family and "6" in family  # her child's birthday
    # Tier and class, lifecycle with its reason (from the nightly refresh, recomputed here as
    # the rules say: 760 of 12-month spend reaches the highest tier whose threshold it passes).
    spend = sum(o.net_paid for o in Order.objects.filter(customer=customer))
    tier = max(
        (
            t
            for t in Tier.objects.filter(organisation=customer.organisation)
            if t.threshold <= spend
        ),
        key=lambda t: t.threshold,
    )
    assert card.locator("[data-testid=card-tier]").inner_text() == tier.name
    ca = CustomerAnalytics.objects.get(customer=customer)
    assert (
        ca.value_class and ca.value_class in card.locator("[data-testid=card-class]").inner_text()
    )
    with translation.override("zh-hans"):
        stage = stage_label(ca.lifecycle)
        why = lifecycle_reason(ca, ca.cycle_category.name if ca.cycle_category else None)
    assert card.locator("[data-testid=card-lifecycle]").inner_text() == stage
    assert why and card.locator("[data-testid=card-lifecycle-reason]").inner_text() == why
    # What is due: the nightly due rows of her categories.
    due = card.locator("[data-testid=card-due]").inner_text()
    assert list(CustomerDue.objects.filter(customer=customer, due_now=True)), "nothing due"
    for row in CustomerDue.objects.filter(customer=customer).select_related("category"):
        assert row.category.name in due
    # Points: the sum of her points entries, not the balance the page reads.
    points = sum(e.points for e in PointsEntry.objects.filter(customer=customer))
    assert points > 0
    assert card.locator("[data-testid=card-points]").inner_text() == str(points)
    assert "玫瑰精华水" in card.locator("[data-testid=card-last-bought]").inner_text()
    assert str(customer.owner) in card.locator("[data-testid=card-owner]").inner_text()
    assert "满300减50" in card.locator("[data-testid=card-coupons]").inner_text()  # zh page
    assert "12" in card.locator("[data-testid=card-last-visit]").inner_text()
    assert "周年回访" in card.locator("[data-testid=card-next-task]").inner_text()
    # Her own staff sees the number in full: the call button dials it; WeChat, a sale and a
    # task are one tap away too.
    assert card.locator("a[href='tel:+8613912345678']").count() == 1
    assert "ouyang_jing" in card.locator("[data-testid=card-wechat]").inner_text()
    assert (
        card.locator("[data-testid=card-order]")
        .get_attribute("href")
        .endswith(f"?customer={customer.pk}")
    )
    assert (
        card.locator("[data-testid=card-task]")
        .get_attribute("href")
        .endswith(f"?customer={customer.pk}")
    )
    for button in card.locator("[data-testid=card-actions] > *").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, button.inner_text()
    profile = page.locator("[data-testid=profile]").inner_text()
    assert "南京西路 1266 号" in profile and "ouyang@example.com" in profile
    assert "ouyang_jing" in profile
    assert page.locator("[data-testid=card-archive-empty]").count() == 0  # nothing left out
    _no_sideways_scroll(page)

    # The timeline: every kind, then only contacts, page by page.
    total = (
        Order.objects.filter(customer=customer).count()
        + Interaction.objects.filter(customer=customer).count()
        + Message.objects.filter(customer=customer).count()
        + FollowUpTask.objects.filter(customer=customer).count()
    )
    assert page.inner_text("[data-testid=timeline-count]") == str(total)
    page.click("#timeline nav.tabs a[data-show=contacts]")
    page.wait_for_selector("#timeline nav.tabs a[data-show=contacts].active")
    assert page.url.endswith("?show=contacts")
    kinds = page.eval_on_selector_all(
        "#timeline li[data-kind]", "els => els.map(e => e.dataset.kind)"
    )
    assert kinds == ["contact"] * 20
    assert page.inner_text("[data-testid=timeline-count]") == str(CONTACTS)
    page.click("#timeline [data-testid=timeline-pager] a[rel=next]")
    page.wait_for_selector("#timeline [data-testid=timeline-pager] a[rel=prev]")
    notes = page.eval_on_selector_all("#timeline li[data-kind=contact]", "els => els.length")
    assert notes == CONTACTS - 20
    assert "第26次回访" in page.inner_text("#timeline")  # the oldest is on the last page
    _no_sideways_scroll(page)


def test_the_timeline_filter_and_paging_work_without_javascript(browser, live_server, her):
    customer = her["customer"]
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    page.base_url = live_server.url
    log_in(page, "staff_a", PASSWORD)
    page.goto(page.base_url + f"/customers/{customer.pk}/")
    page.click("#timeline nav.tabs a[data-show=orders]")
    kinds = page.eval_on_selector_all(
        "#timeline li[data-kind]", "els => els.map(e => e.dataset.kind)"
    )
    assert kinds == ["order"] * Order.objects.filter(customer=customer).count()
    page.click("#timeline nav.tabs a[data-show=contacts]")
    page.click("#timeline [data-testid=timeline-pager] a[rel=next]")
    assert "page=2" in page.url
    count = page.eval_on_selector_all("#timeline li[data-kind=contact]", "els => els.length")
    assert count == CONTACTS - 20
    context.close()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_screenshots_of_the_customer_page(browser, live_server, her, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer = her["customer"]
    for width, height in ((390, 844), (1366, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.base_url = live_server.url
        log_in(page, "staff_a", PASSWORD)
        page.goto(page.base_url + f"/customers/{customer.pk}/")
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / f"customer-card-{lang}-{width}.png"), full_page=True)
        context.close()
