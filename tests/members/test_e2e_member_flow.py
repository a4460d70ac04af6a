"""Issue 20 in the browser, phone-sized: a QR's link → join with the SMS code (read from the local
Aliyun stand-in) → member page; ten minutes later (time moved, not slept) her welcome coupon is
there; the staff member scans her member code at the quick order and redeems the coupon; her
page shows the points and the coupon as used. Screenshots at 390×844 and 1366×900, zh and en."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F
from django.utils import translation

from huitouke.automation.engine import process_due
from huitouke.automation.models import Enrolment
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Coupon, CouponStatus
from huitouke.loyalty.program import ensure_program
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_product
from tests.members.conftest import last_sms_code
from tests.members.helpers import make_join_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "members"
PHONE = "13800138000"


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        path = SHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000
    page.set_viewport_size({"width": 390, "height": 844})


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_join_by_qr_welcome_coupon_redeemed_at_the_till(
    page: Any,
    browser: Any,
    lang: str,
    org: Any,
    owner: Any,
    staff_a: Any,
    store1: Any,
    sms_channel: Any,
    aliyun: Any,
) -> None:
    with translation.override(lang):
        ensure_program(org)  # tier names in the shop's language
    make_product(org, name="玫瑰面膜", price="200.00", cost="60.00")
    code = make_join_code(owner, store1, staff=staff_a, label="小美的二维码")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])

    # The QR's link opens the join page; she asks for a code and types it in.
    page.goto(f"{page.base_url}/m/j/{code.token}/")
    _no_horizontal_scroll(page)
    _shoot(page, f"join-{lang}")
    page.fill("input[name=phone]", "138 0013 8000")
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code-status]:not(:empty)")
    sms_code = last_sms_code(aliyun, PHONE)
    assert sms_code not in page.content()
    page.fill("input[name=code]", sms_code)
    page.fill("input[name=name]", "林晓雨")
    page.select_option("select[name=birth_month]", "8")
    page.select_option("select[name=birth_day]", "15")
    page.check("input[name=birthday_kind][value=lunar]")
    page.click("label[for=id_consent_sms]")
    page.click("[data-testid=join]")
    page.wait_for_selector("[data-testid=member-pass]")
    customer = Customer.objects.get(phone="+8613800138000")
    assert customer.owner_id == staff_a.pk and customer.consent_sms and not customer.consent_email
    assert page.locator("[data-testid=coupon]").count() == 0

    # Not yet; then ten minutes pass (moved, not slept: her enrolment is dated 11 minutes back).
    process_due()
    assert not Coupon.objects.filter(customer=customer).exists()
    back = timedelta(minutes=11)
    Enrolment.objects.filter(customer=customer).update(
        due_at=F("due_at") - back, created_at=F("created_at") - back
    )
    process_due()
    page.reload()
    coupon = Coupon.objects.get(customer=customer)
    assert coupon.code in page.inner_text("[data-testid=coupons]")
    _no_horizontal_scroll(page)
    _shoot(page, f"member-{lang}")
    pass_code = page.get_attribute("[data-testid=pass-number]", "data-code")

    # At the till: the staff member scans her member code and redeems the coupon.
    staff = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    till = staff.new_page()
    till.base_url = page.base_url
    log_in(till, "staff_a", PASSWORD)
    till.goto(f"{page.base_url}/sales/order/new/?member_code={pass_code}")
    assert "林晓雨" in till.inner_text("main")
    till.fill("input[name=lines-0-item]", "玫瑰")
    till.click("[data-pick-product]:has-text('玫瑰面膜')")
    till.click(f"label[data-coupon='{coupon.code}']")
    till.click("[data-testid=save-order]")
    till.wait_for_selector("[data-testid=timeline]")
    staff.close()
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED

    # Her page: the points of the order and the coupon as used.
    page.reload()
    points = int(page.inner_text("[data-testid=points]").replace(",", ""))
    assert points == 180  # ¥200 less 10%, one point per yuan
    assert page.get_attribute("[data-testid=coupon]", "data-state") == "redeemed"
    _shoot(page, f"member-after-{lang}")
    assert errors == []
