"""The customer export a Chinese shop can use, and the machine-readable one beside it.

For people (the default, in the user's language): Chinese headers, lifecycle 流失 and gender 女
instead of churned and f, P(alive) as a percentage with one decimal, amounts in yuan with two,
the archive fields (硬件/软件) as columns. `lang="en"` (CLI `--lang en`, web `?lang=en`) keeps the
DESIGN §8 columns and codes. Either way formulas stay neutralised and the audit entry says what
was exported. Files are read back with csv and openpyxl.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from tests.helpers import make_customer, make_order
from tests.imports.exporting import body, export_through_screen

from huitouke.analytics.models import CustomerAnalytics
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import CustomField
from huitouke.segments.actions import do_save_segment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("huey_immediate")]

P_ALIVE = 0.123456789012345
EXPECTED_90D = 1.23456789
CLV = Decimal("640.46")


@pytest.fixture
def shop(org: Any, store1: Any, staff_a: Any) -> dict[str, Any]:
    CustomField.objects.create(organisation=org, key="skin", label="肤质", group="hardware")
    CustomField.objects.create(
        organisation=org, key="hobbies", label="爱好", type="multi", group="software", position=1
    )
    lin = make_customer(
        org,
        name="林晓雨",
        phone="13800138000",
        external_id="M001",
        gender="f",
        owner=staff_a,
        home_store=store1,
        source="wechat",
        custom={"skin": "干性", "hobbies": ["=1+1", "瑜伽"]},
    )
    make_order(lin, store1, unit_price="120.00")
    make_order(lin, store1, unit_price="80.50")
    CustomerAnalytics.objects.create(
        customer=lin,
        organisation=org,
        as_of=date(2026, 4, 1),
        lifecycle="churned",
        r_score=1,
        f_score=3,
        m_score=4,
        rfm_segment="lost",
        value_class="B",
        p_alive=P_ALIVE,
        expected_orders_90d=EXPECTED_90D,
        predicted_clv=CLV,
    )
    make_customer(org, name='=HYPERLINK("http://x")', phone=None)
    return {"lin": lin}


def read(body: bytes, fmt: str) -> list[dict[str, Any]]:
    """The file's rows as dicts by header; every cell as text, as a spreadsheet shows it."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    book = load_workbook(io.BytesIO(body))
    for row in book.active.iter_rows():
        assert all(cell.data_type != "f" for cell in row)  # no cell is a formula
    header, *data = list(book.active.iter_rows(values_only=True))
    return [
        {h: ("" if v is None else str(v)) for h, v in zip(header, row, strict=True)} for row in data
    ]


def web(client: Any, fmt: str, query: str = "", lang: str = "zh-hans") -> bytes:
    """The customer export asked for on the screen (`query` "?lang=en": machine-readable)."""
    response, _job = export_through_screen(
        client, "customers", fmt, lang="en" if query == "?lang=en" else None, language=lang
    )
    return body(response)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_for_people_in_chinese_by_default(client: Any, owner: Any, shop: Any, fmt: str) -> None:
    client.force_login(owner)
    rows = read(web(client, fmt), fmt)
    lin = next(r for r in rows if r["姓名"] == "林晓雨")
    assert list(lin)[:3] == ["客户编号", "姓名", "手机号"]
    assert not any("_" in h for h in lin)  # no identifier reaches a header
    assert lin["生命周期"] == "流失"
    assert lin["性别"] == "女"
    assert lin["来源"] == "微信"
    assert lin["RFM分层"] == "一般挽留客户"
    assert lin["价值等级"] == "B"
    assert lin["仍活跃概率"] == f"{P_ALIVE * 100:.1f}%" == "12.3%"
    assert lin["未来90天预计订单数"] == "1.2"
    # Amounts in yuan with two decimals (XLSX keeps them as numbers: 200.5 shows as 200.5).
    assert Decimal(lin["预计未来12个月价值（元）"]) == CLV
    assert Decimal(lin["累计消费（元）"]) == Decimal("200.50")
    if fmt == "csv":
        assert lin["累计消费（元）"] == "200.50"
    assert lin["订单数"] == "2"
    assert (lin["负责人"], lin["门店"]) == ("小美", "万达店")
    # The archive fields, by their labels; a formula inside one stays text.
    assert lin["肤质"] == "干性"
    assert lin["爱好"] == "'=1+1、瑜伽"
    names = sorted(r["姓名"] for r in rows)
    assert names == sorted(["林晓雨", '\'=HYPERLINK("http://x")'])
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == owner
    assert (entry.detail["kind"], entry.detail["form"], entry.detail["lang"]) == (
        "customers",
        "people",
        "zh",
    )
    assert entry.detail["rows"] == 2
    assert entry.detail["what"] == (
        f"客户，{'Excel' if fmt == 'xlsx' else 'CSV'}，供人阅读（中文），2 行"
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_switch_keeps_the_machine_readable_form(
    client: Any, owner: Any, shop: Any, fmt: str
) -> None:
    client.force_login(owner)
    rows = read(web(client, fmt, "?lang=en"), fmt)
    lin = next(r for r in rows if r["name"] == "林晓雨")
    assert list(lin)[:4] == ["external_id", "name", "phone", "lifecycle"]
    assert (lin["lifecycle"], lin["gender"], lin["source"], lin["rfm_segment"]) == (
        "churned",
        "f",
        "wechat",
        "lost",
    )
    assert float(lin["p_alive"]) == pytest.approx(P_ALIVE, abs=1e-12)
    assert float(lin["expected_orders_90d"]) == pytest.approx(EXPECTED_90D, abs=1e-12)
    assert lin["custom.skin"] == "干性"
    assert lin["custom.hobbies"] == "'=1+1,瑜伽"
    # An English page gets the English export for people: labels, not codes.
    people = read(web(client, fmt, lang="en"), fmt)
    lin = next(r for r in people if r["Name"] == "林晓雨")
    assert (lin["Lifecycle"], lin["Gender"], lin["P(alive)"]) == ("Churned", "Female", "12.3%")
    details = [e.detail for e in AuditEntry.objects.filter(action="export").order_by("pk")]
    # The switch, then an English user's export for people.
    assert [(d["form"], d["lang"]) for d in details] == [("machine", "en"), ("people", "en")]
    kind = "Excel" if fmt == "xlsx" else "CSV"
    # The audit line is in the language of whoever exported: the switch was used on a Chinese page.
    assert details[0]["what"] == f"客户，{kind}，机器可读（英文代码），2 行"
    assert details[1]["what"] == f"Customers, {kind}, for people, in English, 2 rows"


def test_the_cli_speaks_chinese_by_default_and_en_on_request(
    tmp_path: Path, org: Any, shop: Any
) -> None:
    zh, en, people = tmp_path / "客户.csv", tmp_path / "customers.xlsx", tmp_path / "zh.xlsx"
    # A command speaks the installation's language (LANGUAGE_CODE, zh-hans by default); the
    # tests otherwise run in English (tests/conftest.py).
    with translation.override(settings.LANGUAGE_CODE):
        call_command("export", "customers", str(zh))
    call_command("export", "customers", str(en), "--lang", "en")
    call_command("export", "customers", str(people), "--lang", "zh")  # whatever the language
    lin = next(r for r in read(people.read_bytes(), "xlsx") if r["姓名"] == "林晓雨")
    assert (lin["生命周期"], lin["性别"]) == ("流失", "女")
    lin = next(r for r in read(zh.read_bytes(), "csv") if r["姓名"] == "林晓雨")
    assert (lin["生命周期"], lin["性别"], lin["仍活跃概率"]) == ("流失", "女", "12.3%")
    lin = next(r for r in read(en.read_bytes(), "xlsx") if r["name"] == "林晓雨")
    assert (lin["lifecycle"], lin["gender"]) == ("churned", "f")
    assert float(lin["p_alive"]) == pytest.approx(P_ALIVE, abs=1e-12)


def test_the_audit_names_the_segment_and_the_row_count(tmp_path: Path, org: Any, shop: Any) -> None:
    segment = do_save_segment(
        organisation=org,
        actor=None,
        name="流失老客",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "lifecycle", "op": "in", "value": ["churned"]}],
        },
    )
    path = tmp_path / "seg.csv"
    with translation.override("zh-hans"):
        call_command("export", "customers", str(path), "--segment", str(segment.pk))
    rows = read(path.read_bytes(), "csv")
    assert [r["姓名"] for r in rows] == ["林晓雨"]
    detail = AuditEntry.objects.get(action="export").detail
    assert detail["rows"] == 1
    assert detail["filters"] == {"segment": segment.pk, "segment_name": "流失老客"}
    assert detail["what"] == "客户，CSV，供人阅读（中文），1 行 · 分群“流失老客”"


def test_the_audit_page_says_what_was_exported(client: Any, owner: Any, shop: Any) -> None:
    client.force_login(owner)
    web(client, "xlsx")
    page = client.get(reverse("audit:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "客户，Excel，供人阅读（中文），2 行" in page
