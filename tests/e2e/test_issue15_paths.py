"""Issue 15 item 7 in the browser: every path leads somewhere a person can read.

The segment's 导出 downloads the segment; the owner edits archive fields on a screen of the app
(no /admin/); a staff member opening a customer who moved to a colleague reads to whom; the
403/404/500 pages keep the app's layout and language and offer the way back. Item 12: the
language is remembered per person and applied at login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer

from huitouke.accounts.models import User
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer, CustomField
from huitouke.customers.ownership import do_change_owner
from huitouke.segments.models import Segment
from huitouke.web.errors import server_error

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 900)}


def _shoot(page: Any, name: str) -> None:
    """Both widths, the current language; no horizontal scroll on either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    lang = next(
        (c["value"] for c in page.context.cookies() if c["name"] == "django_language"), "zh-hans"
    )
    for vp, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {width}px"
        path = str(SHOTS / f"issue15-{name}-{lang}-{vp}.png")
        try:
            page.screenshot(path=path, full_page=True)
        except PlaywrightError as exc:
            # Headless Chromium may have no frame to capture yet right after a reload at a new
            # size (a stop's CI run: "Unable to capture screenshot"); the picture is a record for
            # people, the assertions are above, so it is taken again once the page has settled.
            if "Unable to capture screenshot" not in str(exc):
                raise
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)
            page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


def _language(page: Any, lang: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])


def test_the_segment_export_link_downloads_the_segment(page, org, owner, staff_a) -> None:
    make_customer(org, name="陈静", owner=staff_a)
    segment = Segment.objects.create(organisation=org, name="全部顾客", created_by=owner)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + f"/segments/{segment.pk}/")
    link = page.locator("[data-testid=segment-export]")
    answer = page.request.get(page.base_url + link.get_attribute("href"))
    assert answer.status == 200, link.get_attribute("href")
    # The export screen opens with the segment chosen; the file is written by the worker.
    link.click()
    page.wait_for_url("**/imports/export/?segment=*")
    assert page.locator(f"option[value='{segment.pk}'][selected]").count() == 1
    # (The job itself, its file and its audit entry: tests/imports/test_export_jobs.py.)


def test_the_owner_keeps_archive_fields_on_a_screen_of_the_app(page, org, owner, staff_a) -> None:
    her = make_customer(org, name="陈静", owner=staff_a)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/accounts/organisation/")
    assert page.locator("a[href^='/admin/']").count() == 0
    page.click("[data-testid=edit-fields]")
    page.wait_for_url(page.base_url + "/accounts/fields/")

    # Add: a choice field, its choices one a line.
    page.click("[data-testid=field-new]")
    page.fill("#id_label", "肤质")
    page.select_option("#id_type", "choice")
    page.fill("#id_choices_text", "干性\n油性\n混合")
    page.click("#field-form button[type=submit]")
    page.wait_for_url(page.base_url + "/accounts/fields/")
    field = CustomField.objects.get(organisation=org, label="肤质")
    assert field.choices == ["干性", "油性", "混合"]
    assert field.key and field.key not in page.inner_text("main")  # the key is never shown
    expect(page.locator("[data-testid=fields]")).to_contain_text("干性 · 油性 · 混合")

    # A choice field with one choice is refused, and what was typed stays.
    page.click("[data-testid=field-new]")
    page.fill("#id_label", "体型")
    page.select_option("#id_type", "choice")
    page.fill("#id_choices_text", "标准")
    page.click("#field-form button[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("至少需要两个选项")
    assert page.input_value("#id_label") == "体型"
    assert not CustomField.objects.filter(organisation=org, label="体型").exists()

    # Edit: the label and a choice; the customer form shows the field.
    page.goto(page.base_url + f"/accounts/fields/{field.pk}/")
    page.fill("#id_label", "皮肤类型")
    page.fill("#id_choices_text", "干性\n油性\n混合\n敏感")
    page.click("#field-form button[type=submit]")
    page.wait_for_url(page.base_url + "/accounts/fields/")
    field.refresh_from_db()
    assert (field.label, field.choices[-1]) == ("皮肤类型", "敏感")
    _shoot(page, "fields")
    _language(page, "en")
    _shoot(page, "fields")
    _language(page, "zh-hans")
    page.goto(page.base_url + f"/customers/{her.pk}/edit/")
    expect(page.locator("main")).to_contain_text("皮肤类型")

    # Deactivate: gone from the form, her value kept.
    Customer.objects.filter(pk=her.pk).update(custom={field.key: "油性"})
    page.goto(page.base_url + "/accounts/fields/")
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"[data-testid=deactivate-{field.pk}]")
    page.wait_for_url(page.base_url + "/accounts/fields/")
    # The definition is kept, switched off; the list says so.
    field.refresh_from_db()
    assert (field.active, field.label) == (False, "皮肤类型")
    expect(page.locator(f"[data-testid=field-state-{field.pk}]")).to_have_text("已停用")
    page.goto(page.base_url + f"/customers/{her.pk}/edit/")
    assert "皮肤类型" not in page.inner_text("main")
    page.goto(page.base_url + f"/customers/{her.pk}/")
    assert "皮肤类型" not in page.inner_text("[data-testid=call-card]")
    # Saving her form while the field is off keeps her value.
    page.goto(page.base_url + f"/customers/{her.pk}/edit/")
    with page.expect_navigation():
        page.click("main form.stacked button[type=submit]")
    her.refresh_from_db()
    assert her.custom[field.key] == "油性"

    # Reactivate: back on the form and the card, with her value.
    page.goto(page.base_url + "/accounts/fields/")
    with page.expect_navigation():
        page.click(f"[data-testid=reactivate-{field.pk}]")
    page.wait_for_url(page.base_url + "/accounts/fields/")
    expect(page.locator(f"[data-testid=field-state-{field.pk}]")).to_have_text("使用中")
    page.goto(page.base_url + f"/customers/{her.pk}/")
    expect(page.locator("[data-testid=call-card]")).to_contain_text("油性")
    actions = list(
        AuditEntry.objects.filter(organisation=org, action__startswith="custom_field_")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "custom_field_create",
        "custom_field_edit",
        "custom_field_remove",
        "custom_field_reactivate",
    ]

    # Staff cannot open the screen: the 403 page, in the app's layout.
    page.context.clear_cookies()
    log_in(page, "staff_a", PASSWORD)
    answer = page.goto(page.base_url + "/accounts/fields/")
    assert answer.status == 403
    expect(page.locator("[data-testid=error-page]")).to_contain_text("无权")
    assert page.locator("header.topbar nav a").count() > 0


def test_staff_following_a_moved_customer_reads_to_whom(page, org, owner, staff_a, staff_b):
    User.objects.filter(pk=staff_b.pk).update(display_name="小雅")
    moved = make_customer(org, name="欧阳晶", owner=staff_a, phone="13800138001")
    never_hers = make_customer(org, name="王芳", owner=staff_b, phone="13800138002")
    do_change_owner(moved, User.objects.get(pk=staff_b.pk), actor=owner, reason="manual")

    log_in(page, "staff_a", PASSWORD)
    answer = page.goto(page.base_url + f"/customers/{moved.pk}/")
    assert answer.status == 200
    box = page.locator("[data-testid=customer-moved]")
    expect(box).to_contain_text("小雅")
    text = page.inner_text("main")
    assert "欧阳" not in text and "13800138001" not in text  # nothing of hers beyond that
    _shoot(page, "moved")
    _language(page, "en")
    page.reload()
    expect(box).to_contain_text("looked after by 小雅")
    _shoot(page, "moved")

    # Never hers: the 404 page, in her language, the app's layout, the way back to the list.
    page.goto(page.base_url + "/customers/")
    page.evaluate(f"window.location.href = '/customers/{never_hers.pk}/'")
    page.wait_for_url(page.base_url + f"/customers/{never_hers.pk}/")
    error = page.locator("[data-testid=error-page]")
    expect(error).to_contain_text("Page not found")
    assert "王芳" not in page.inner_text("main")
    assert page.get_attribute("[data-testid=error-back]", "href") == "/customers/"
    assert page.get_attribute("[data-testid=error-home]", "href") == "/"
    assert page.locator("header.topbar nav a").count() > 0
    _shoot(page, "404")
    _language(page, "zh-hans")
    page.reload()
    expect(error).to_contain_text("页面没有找到")
    _shoot(page, "404")


def test_the_500_page_keeps_the_layout_and_language(page, org, owner, settings) -> None:
    settings.ROOT_URLCONF = "tests.e2e.boom_urls"
    log_in(page, "owner", PASSWORD)
    for lang, words in (("zh-hans", "系统出错了"), ("en", "Something went wrong on our side")):
        _language(page, lang)
        answer = page.goto(page.base_url + "/boom/")
        assert answer.status == 500
        expect(page.locator("[data-testid=error-page]")).to_contain_text(words)
        assert page.get_attribute("html", "lang") == lang
        assert page.get_attribute("[data-testid=error-home]", "href") == "/"
        _shoot(page, "500")


def test_the_500_page_asks_the_database_nothing(rf: RequestFactory, django_assert_num_queries):
    request = rf.get("/anything/", HTTP_REFERER="http://testserver/customers/?q=1")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert 'href="/customers/?q=1"' in html and 'data-testid="error-page"' in html
    assert connection.vendor in ("sqlite", "postgresql")


def test_the_language_is_remembered_per_person(page, browser, org, owner) -> None:
    # The browser asks for Chinese (locale zh-CN); her account says English.
    User.objects.filter(pk=owner.pk).update(language="en")
    log_in(page, "owner", PASSWORD)
    expect(page.locator("header.topbar")).to_contain_text("Log out")

    # She switches to 中文: stored on her account, audited.
    page.click("form.lang button")
    expect(page.locator("header.topbar")).to_contain_text("退出")
    assert User.objects.get(pk=owner.pk).language == "zh-hans"
    assert AuditEntry.objects.filter(actor=owner, action="language_change").count() == 1

    # And back to English, then a new device with an English-less browser.
    page.click("form.lang button")
    expect(page.locator("header.topbar")).to_contain_text("Log out")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        phone.base_url = page.base_url
        log_in(phone, "owner", PASSWORD)
        expect(phone.locator("header.topbar")).to_contain_text("Log out")
        assert phone.get_attribute("html", "lang") == "en"
    finally:
        context.close()
