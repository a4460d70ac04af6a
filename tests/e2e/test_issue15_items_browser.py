"""Issue 15 items 1, 2, 9, 11 and 12, one focused browser test each (Debian chromium).

Each test asserts the right words, not only the absence of the wrong ones, and each was run
against the main from before its fix (see the branch's report for the commits and failures):

- item 1: a label reads what it means in Chinese (启用, 至, 触发条件 / 对象, 名称, 姓名, 门店,
  仍活跃概率), where shared msgids once gave 老客（活跃）, 有效期至, 时间 / 操作人, 交接给 …;
- item 2: no code reaches a screen (segment operators, audit actions, import counts, template
  names, the ROI formula, lifecycle stages on the English dashboard);
- item 9: the dashboard lists hold only what they claim, against a hand-built shop whose
  answers the test works out itself (both databases);
- item 11: the customer export reads in the user's language with the archive fields, the
  machine form stays one switch away, the audit entry names the export (both databases);
- item 12: the language is remembered across a logout, and an import's row errors come in it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer, make_product

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.models import CustomerAnalytics
from huitouke.audit.models import AuditEntry
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Category
from huitouke.segments.models import Segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TZ = ZoneInfo("Asia/Shanghai")
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def _language(page: Any, lang: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])


def _label(page: Any, field_id: str) -> str:
    return page.locator(f"label[for={field_id}]").first.inner_text().strip().rstrip(":：")


# ---------------------------------------------------------------- item 1: labels that mean it


def test_item1_labels_say_what_they_mean_in_chinese(page, org, store1, owner) -> None:
    her = make_customer(org, name="陈静", home_store=store1)
    log_in(page, "owner", PASSWORD)

    page.goto(page.base_url + "/messages/channels/")
    sms = page.locator("form:has(input[name=form][value=sms])")
    switch = sms.locator("input[type=checkbox][name$=is_active]")
    switch_label = page.locator(f"label[for={switch.get_attribute('id')}]").inner_text()
    assert switch_label.strip().rstrip(":：") == "启用", switch_label
    assert "老客（活跃）" not in page.locator("main").inner_text()

    page.goto(page.base_url + "/automation/new/")
    assert _label(page, "id_quiet_end") == "至"
    assert _label(page, "id_name") == "名称"
    legends = [t.strip() for t in page.locator("#rule-form legend").all_inner_texts()]
    assert "触发条件" in legends and "对象" in legends, legends
    assert "时间" not in legends and "操作人" not in legends, legends

    page.goto(page.base_url + "/segments/new/")
    assert _label(page, "id_name") == "名称"

    page.goto(page.base_url + "/tasks/results/")
    assert _label(page, "id_end") == "至"

    page.goto(page.base_url + "/customers/new/")
    assert _label(page, "id_name") == "姓名"
    assert _label(page, "id_owner") == "负责人"  # docs/glossary.md: never 归属导购
    assert "门店" in _label(page, "id_home_store") and "店铺" not in _label(page, "id_home_store")

    # P(alive) in words: the customer page after an analytics run (three orders: a model).
    product = make_product(org)
    for days in (30, 90, 150):
        do_record_order(
            organisation=org,
            store=store1,
            customer=her,
            lines=[LineInput(quantity=1, product=product, unit_price=Decimal("100"))],
            actor=None,
            placed_at=dt.datetime.now(TZ) - dt.timedelta(days=days),
        )
    refresh_organisation(org)
    # (The model needs ten repeat customers to fit; her chance is set as a fitted one would be.)
    CustomerAnalytics.objects.filter(customer=her).update(p_alive=0.351234567)
    page.goto(page.base_url + f"/customers/{her.pk}/")
    text = page.locator("main").inner_text()
    assert "仍活跃概率" in text
    assert "P(alive)" not in text and "Store:" not in text


# ---------------------------------------------------------------- item 2: no codes on screens

# Every code the code base writes to the audit log (the list of huitouke.audit.models at the
# fix, spelled out so that the test does not ask the code under test which codes exist).
AUDIT_CODES = [
    "login",
    "login_failed",
    "merge",
    "merge_visit_orders",
    "handover",
    "owner_change",
    "phone_reveal",
    "customers_read",
    "customer_edit",
    "customer_deleted",
    "customer_data_export",
    "customer_anonymised",
    "data_request_see",
    "data_request_delete",
    "export",
    "import",
    "token_created",
    "token_revoked",
    "token_used",
    "staff_create",
    "staff_edit",
    "staff_password_reset",
    "password_change",
    "store_create",
    "store_edit",
    "language_change",
    "custom_field_create",
    "custom_field_edit",
    "custom_field_remove",
    "custom_field_reactivate",
    "refund",
    "category_save",
    "product_save",
    "segment_delete",
    "owner_create",
    "onboarding_done",
    "family_member_add",
    "settings",
    "loyalty_settings",
    "messaging_settings",
    "channel_config",
    "coupon_template_create",
    "coupon_issue",
    "coupon_redeem",
    "coupon_void",
    "points_adjust",
    "automation_create",
    "automation_on",
    "sop_rule_create",
    "sop_rule_update",
    "sop_rule_delete",
    "message_template_create",
    "message_retry",
    "consent_given",
    "opt_in",
    "opt_out",
    "join_code_create",
    "member_join",
    "webhook_create",
    "webhook_edit",
    "webhook_delete",
    "webhook_disabled",
    "webhook_replay",
]


def test_item2_segment_operators_read_as_words(page, org, store1, owner) -> None:
    conditions = [
        (
            {"field": "lifecycle", "op": "in", "value": ["silent", "churned"]},
            "生命周期 是 沉默、流失",
        ),
        ({"field": "gender", "op": "not_in", "value": ["m"]}, "性别 不是 男"),
        ({"field": "orders_count", "op": "gte", "value": 2}, "至少 2"),
        ({"field": "net_spend", "op": "between", "value": [100, 900]}, "介于 100 至 900"),
        ({"field": "city", "op": "contains", "value": "杭"}, "包含"),
    ]
    segment = Segment.objects.create(
        organisation=org,
        name="沉默的老客",
        created_by=owner,
        definition={"match": "all", "conditions": [c for c, _w in conditions]},
    )
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + f"/segments/{segment.pk}/")
    text = page.locator("main").inner_text()
    for _condition, word in conditions:
        assert word in text, (word, text)
    for code in ("not_in", "between", "gte", " in ", "contains", "orders_count", "net_spend"):
        assert code not in text, (code, text)
    # The builder's operator lists: words, never the codes.
    page.goto(page.base_url + f"/segments/{segment.pk}/edit/")
    page.locator("#builder [data-condition]").first.wait_for()
    ops = page.locator("#builder [data-condition] select:nth-of-type(2) option").all_inner_texts()
    assert ops, "no operator lists"
    assert {"是", "至少", "介于"} <= {o.strip() for o in ops}, ops
    assert not [o for o in ops if re.fullmatch(r"[a-z_]+", o.strip())], ops


def test_item2_every_audit_action_has_a_label(page, org, owner) -> None:
    for code in AUDIT_CODES:
        AuditEntry.objects.create(organisation=org, actor=owner, action=code, object_repr="—")
    log_in(page, "owner", PASSWORD)
    for lang in ("zh-hans", "en"):
        _language(page, lang)
        shown: list[str] = []
        for number in (1, 2):
            page.goto(page.base_url + f"/audit/?page={number}")
            shown += page.locator("main tbody tr td:nth-child(3)").all_inner_texts()
        assert len(shown) >= len(AUDIT_CODES)
        codes = [t for t in shown if SNAKE.search(t) or t.strip() in AUDIT_CODES]
        assert codes == [], (lang, codes)
        if lang == "zh-hans":
            assert all(re.search(r"[\u4e00-\u9fff]", t) for t in shown), shown


def test_item2_import_counts_and_template_names_are_words(page, org, store1, owner) -> None:
    from huitouke.automation.presets import BY_CODE, enable_template
    from huitouke.imports.models import ImportJob

    for code in BY_CODE:
        enable_template(org, code, actor=owner)
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/messages/templates/")
    text = page.locator("main").inner_text()
    assert "{{" not in text and "(birthday_sms)" not in text and "_sms" not in text, text
    assert "生日" in text

    # A finished import says what it did in words (its summary's keys stay inside).
    job = ImportJob.objects.create(
        organisation=org,
        kind="orders",
        path="/dev/null",
        original_name="orders.csv",
        status="done",
        created_count=10,
        created_by=owner,
        summary={"details": {"customers_created": 10, "products_created": 2, "orders_created": 7}},
    )
    page.goto(page.base_url + f"/imports/{job.pk}/")
    text = page.locator("main").inner_text()
    assert not SNAKE.search(text), SNAKE.findall(text)
    assert "10" in text and "客户" in text


def test_item2_the_roi_formula_reads_in_chinese(page, org, store1, owner) -> None:
    from huitouke.automation.models import AutomationRule

    rule = AutomationRule.objects.create(
        organisation=org, name="生日祝福", trigger="birthday", created_by=owner
    )
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + f"/automation/{rule.pk}/")
    roi = page.locator("[data-kpi=roi]").locator("xpath=..").inner_text()
    assert "(revenue − cost) / cost" not in roi
    assert "收入" in roi and "成本" in roi, roi


def test_item2_lifecycle_stages_read_as_words_in_english(page, org, store1, owner) -> None:
    log_in(page, "owner", PASSWORD)
    make_customer(org, name="甲", home_store=store1)
    refresh_organisation(org)
    _language(page, "en")
    page.goto(page.base_url + "/")
    stages = [
        t.strip()
        for t in page.locator("[data-testid=funnel] [data-stage] .label").all_inner_texts()
    ]
    assert stages[:5] == ["Potential", "New", "Active", "Silent", "Churned"], stages


# ---------------------------------------------------------------- item 9: the right lists

AS_OF = dt.date(2026, 6, 30)
# Category baskets of twenty orders (one customer each): which pairs beat chance is worked out
# below from these lists alone.
BASKETS = [
    *[("面膜", "精华")] * 6,
    *[("面膜",)] * 4,
    *[("面膜", "口红")] * 3,
    *[("口红",)] * 6,
    ("精华",),
]


def _lifts() -> dict[tuple[str, str], float]:
    n = len(BASKETS)
    count = {c: sum(c in b for b in BASKETS) for c in {c for b in BASKETS for c in b}}
    pairs: dict[tuple[str, str], int] = {}
    for basket in BASKETS:
        for a, b in combinations(sorted(basket), 2):
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
    return {p: k * n / (count[p[0]] * count[p[1]]) for p, k in pairs.items()}


def _order(org: Any, store: Any, customer: Any, products: list[Any], days_ago: int) -> None:
    when = dt.datetime.combine(AS_OF - dt.timedelta(days=days_ago), dt.time(15), tzinfo=TZ)
    lines = [LineInput(quantity=1, product=p, unit_price=Decimal("100")) for p in products]
    do_record_order(
        organisation=org, store=store, customer=customer, lines=lines, actor=None, placed_at=when
    )


def test_item9_dashboard_lists_hold_what_they_claim(page, org, store1, owner) -> None:
    # Silent after 90 days without an order (the shop's default, no category cycles):
    # 将 85 days away turns silent in 5 days; 已 100 days away is silent already.
    soon = make_customer(org, name="将沉默", home_store=store1)
    gone = make_customer(org, name="已沉默", home_store=store1)
    gift = make_product(org, name="礼盒")
    _order(org, store1, soon, [gift], 85)
    _order(org, store1, gone, [gift], 100)
    products = {
        name: make_product(
            org, name=f"{name}A", category=Category.objects.create(organisation=org, name=name)
        )
        for name in ("面膜", "精华", "口红")
    }
    for index, basket in enumerate(BASKETS):
        buyer = make_customer(org, name=f"顾客{index}", home_store=store1)
        _order(org, store1, buyer, [products[n] for n in basket], index + 1)
    refresh_organisation(org, AS_OF)
    # Both high-value: the silent one is worth more, so a list by value would show her first.
    CustomerAnalytics.objects.filter(customer=soon).update(predicted_clv=800, value_class="A")
    CustomerAnalytics.objects.filter(customer=gone).update(predicted_clv=5000, value_class="A")

    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/")
    listed = page.locator("[data-testid=turning-silent]")
    names = listed.locator("a[href*='/customers/']").all_inner_texts()
    assert "已沉默" not in names, names
    assert "将沉默" in names, names
    assert "5 天" in listed.inner_text()

    # Each rate carries its one-line explanation, visible without hovering (a phone has none).
    for key in ("repurchase_rate", "second_purchase_rate"):
        hint = page.locator(f"[data-testid=kpi-hint-{key}]")
        assert hint.is_visible(), key
        assert "比例" in hint.inner_text()

    lifts = _lifts()
    assert round(lifts[("精华", "面膜")], 2) == round(6 * 20 / (13 * 7), 2)  # > 1
    assert lifts[("口红", "面膜")] < 1
    page.goto(page.base_url + "/analytics/")
    baskets = page.locator("[data-testid=baskets]")
    rows = [r.locator("td").all_inner_texts() for r in baskets.locator("tbody tr").all()]
    pairs = [r for r in rows if len(r) >= 5 and " + " in r[0] and "A" not in r[0]]
    shown = {tuple(sorted(r[0].split(" + "))) for r in pairs}
    assert ("精华", "面膜") in shown, rows
    for pair in shown:
        assert lifts[pair] > 1, (pair, lifts[pair])
    for row in pairs:
        assert float(row[-1]) > 1, row
    assert "面膜 + 口红" not in baskets.inner_text() and "口红 + 面膜" not in baskets.inner_text()


# ---------------------------------------------------------------- item 11: exports people read


def people_export_is_readable(text: str) -> None:
    """A customer export in Chinese: headers and values in words, P(alive) as on screen, the
    archive field as a column (shared with the old-code check, which downloads differently)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    for word in ("姓名", "手机号", "生命周期", "性别", "仍活跃概率", "负责人", "肤质"):
        assert word in header, (word, header)
    assert not [h for h in header if SNAKE.search(h)], header
    row = dict(zip(header, next(r for r in body if "流失客" in r), strict=False))
    assert row["性别"] == "女"
    assert row["生命周期"] == "流失"
    assert row["仍活跃概率"] in ("35.1%", "35%"), row["仍活跃概率"]
    assert row["肤质"] == "油性"


def _export_shop(org: Any, store1: Any, staff_a: Any) -> None:
    from huitouke.customers.models import CustomField

    CustomField.objects.create(
        organisation=org, key="skin", label="肤质", type="choice", choices=["干性", "油性"]
    )
    her = make_customer(
        org, name="流失客", gender="f", owner=staff_a, home_store=store1, custom={"skin": "油性"}
    )
    product = make_product(org)
    for days in (400, 460, 520):
        _order(org, store1, her, [product], days)
    refresh_organisation(org, AS_OF)
    # Sixteen decimals as the model writes them; the screen shows 35%, the export 35.1%.
    CustomerAnalytics.objects.filter(customer=her).update(p_alive=0.3512345678901234)


def _download_customers(page: Any, *, machine: bool) -> str:
    page.goto(page.base_url + "/imports/export/")
    if machine:
        page.check("[data-testid=export-lang-en]")
    with page.expect_navigation():
        page.click("[data-testid=export-customers-csv]")
    link = page.locator("a[href$='/download/']").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        return handle.read()


def test_item11_the_customer_export_reads_in_her_language(
    page, org, store1, owner, staff_a, huey_immediate
) -> None:
    _export_shop(org, store1, staff_a)
    log_in(page, "owner", PASSWORD)

    people_export_is_readable(_download_customers(page, machine=False))
    entry = AuditEntry.objects.filter(organisation=org, action="export").latest("at")
    assert "客户" in entry.object_repr or "Customers" in entry.object_repr, entry.object_repr
    page.goto(page.base_url + "/audit/")
    first = page.locator("main tbody tr").first.inner_text()
    assert "导出" in first and entry.object_repr in first, first

    machine = list(csv.reader(io.StringIO(_download_customers(page, machine=True))))
    header = machine[0]
    assert header[:4] == ["external_id", "name", "phone", "lifecycle"], header
    assert "custom.skin" in header
    row = dict(zip(header, machine[1], strict=False))
    assert (row["lifecycle"], row["gender"]) == ("churned", "f")


# ---------------------------------------------------------------- item 12: her language


def test_item12_language_is_remembered_and_imports_speak_it(
    page, org, owner, tmp_path, huey_immediate
) -> None:
    log_in(page, "owner", PASSWORD)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    with page.expect_navigation():
        page.click("form.lang button")  # the switch to English
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.click("header.topbar form[action$='/logout/'] button")
    page.context.clear_cookies()  # as on a new device: no language cookie
    log_in(page, "owner", PASSWORD)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Log out" in page.locator("header.topbar").inner_text()

    # An import as the English user: the row's error in English.
    sheet = tmp_path / "customers.csv"
    sheet.write_text("姓名,手机号\n王芳,1381234abcd\n", encoding="utf-8")
    page.goto(page.base_url + "/imports/")
    page.select_option("#id_kind", "customers")
    page.set_input_files("#id_file", str(sheet))
    with page.expect_navigation():
        page.locator("form:has(#id_file) button[type=submit]").click()
    page.wait_for_load_state("load")
    text = page.locator("main").inner_text()
    deadline = 20
    while "phone" not in text.lower() and deadline:
        page.wait_for_timeout(500)
        page.reload()
        text = page.locator("main").inner_text()
        deadline -= 1
    assert re.search(r"[Pp]hone|[Mm]obile", text), text
    assert not re.search(r"手机号.*(无效|错误|不)", text), text


# ---------------------------------------------------------------- screenshots of what changed

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "issue15-items"


@pytest.mark.skipif(not os.environ.get("HUITOUKE_SCREENSHOTS"), reason="HUITOUKE_SCREENSHOTS=1")
def test_screens_changed_here_at_both_widths(page, org, store1, owner) -> None:
    """The customer form (姓名, 负责人), the segment form refusing a condition in words, the
    settings page (品牌); 390x844 and 1366x900, Chinese and English, no sideways scroll."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    bad = json.dumps(
        {"version": 1, "conditions": [{"field": "net_spend", "op": "between", "value": [9, 1]}]}
    )
    log_in(page, "owner", PASSWORD)
    for lang in ("zh-hans", "en"):
        _language(page, lang)
        for size, (width, height) in {"phone": (390, 844), "desktop": (1366, 900)}.items():
            page.set_viewport_size({"width": width, "height": height})
            for name, url in (
                ("customer-form", "/customers/new/"),
                ("organisation", "/accounts/organisation/"),
            ):
                page.goto(page.base_url + url)
                _no_sideways(page, name, width)
                page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
            page.goto(page.base_url + "/segments/new/")
            page.fill("#id_name", "消费介于")
            page.evaluate("d => { document.querySelector('#id_definition').value = d; }", bad)
            with page.expect_navigation():
                page.click("#segment-form button[type=submit]")
            text = page.locator("main").inner_text()
            assert ("累计消费" if lang == "zh-hans" else "Net spend") in text
            _no_sideways(page, "segment-form", width)
            page.screenshot(path=str(SHOTS / f"segment-error-{lang}-{size}.png"), full_page=True)


def _no_sideways(page: Any, name: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, f"{name} scrolls sideways at {width}px"
