"""Importing customers: create, update only what the file says, re-import changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from tests.helpers import make_customer
from tests.imports.importfiles import write_csv, write_xlsx

from huitouke.customers.models import Customer, CustomerStats, Tag
from huitouke.imports.actions import do_commit_import
from huitouke.imports.models import PayerAlias
from huitouke.imports.summary import GOOD_ROWS

pytestmark = pytest.mark.django_db

HEADER = [
    "会员编号",
    "姓名",
    "手机",
    "性别",
    "生日",
    "城市",
    "标签",
    "微信昵称",
    "备注",
    "入会日期",
]
ROWS = [
    [
        "M001",
        "林晓雨",
        "138 0013 8000",
        "女",
        "1990-03-05",
        "上海",
        "VIP,敏感肌",
        "晓雨🌸",
        "",
        "2023-01-02",
    ],
    ["M002", "陈静", "+86 139 0000 0002", "女", "农历三月初五", "杭州", "", "", "喜欢玫瑰", ""],
    ["", "王强", "13900000003", "男", "", "", "VIP", "", "", ""],
]


def run(path: Path, store: Any, **options: Any) -> Any:
    return do_commit_import(
        path, organisation=store.organisation, store=store, kind="customers", actor=None, **options
    )


def test_customers_are_created_with_their_profile(tmp_path, store1):
    summary = run(write_csv(tmp_path / "c.csv", HEADER, ROWS), store1)
    assert (summary.created, summary.updated, summary.errors) == (3, 0, [])
    lin = Customer.objects.get(external_id="M001")
    assert (lin.name, lin.phone, lin.gender, lin.city) == ("林晓雨", "+8613800138000", "f", "上海")
    assert (lin.birthday_kind, lin.birth_year, lin.birth_month, lin.birth_day) == (
        "solar",
        1990,
        3,
        5,
    )
    assert timezone.localtime(lin.created_at).date().isoformat() == "2023-01-02"
    assert sorted(lin.tags.values_list("name", flat=True)) == ["VIP", "敏感肌"]
    assert lin.home_store == store1 and lin.source == "import"
    chen = Customer.objects.get(external_id="M002")
    assert (chen.birthday_kind, chen.birth_year, chen.birth_month, chen.birth_day) == (
        "lunar",
        None,
        3,
        5,
    )
    assert chen.notes == "喜欢玫瑰"
    assert Tag.objects.filter(name="VIP").count() == 1
    # Every customer has her (empty) stats row, as do_create_customer gives her.
    assert CustomerStats.objects.filter(orders_count=0).count() == 3
    alias = PayerAlias.objects.get(payer="晓雨🌸")
    assert (alias.platform, alias.customer) == ("wechat", lin)


def test_reimporting_changes_nothing_and_a_changed_file_updates_only_what_it_says(tmp_path, store1):
    path = write_csv(tmp_path / "c.csv", HEADER, ROWS)
    run(path, store1)
    again = run(path, store1)
    assert (again.created, again.updated, again.skipped) == (0, 0, 3)
    changed = [list(r) for r in ROWS]
    changed[0][5] = "北京"  # moved
    changed[0][2] = ""  # an empty cell never erases her phone
    changed[2][6] = "VIP,新客"
    changed.append(["M004", "赵雪", "", "", "", "", "", "", "", ""])
    summary = run(write_csv(tmp_path / "c2.csv", HEADER, changed), store1)
    assert (summary.created, summary.updated, summary.skipped) == (1, 2, 1)
    lin = Customer.objects.get(external_id="M001")
    assert (lin.city, lin.phone) == ("北京", "+8613800138000")
    assert sorted(Customer.objects.get(name="王强").tags.values_list("name", flat=True)) == [
        "VIP",
        "新客",
    ]
    assert [p["status"] for p in summary.preview] == ["updated", "unchanged", "updated", "new"]
    assert summary.preview[0]["changes"] == ["city"]


def test_existing_customers_are_matched_not_duplicated(tmp_path, org, store1):
    by_phone = make_customer(org, name="王强", phone="13900000003")
    run(write_csv(tmp_path / "c.csv", HEADER, ROWS), store1)
    assert Customer.objects.filter(name="王强").count() == 1
    by_phone.refresh_from_db()
    assert by_phone.gender == "m"


def test_conflicting_and_ambiguous_rows_are_rejected_with_reasons(tmp_path, org, store1):
    make_customer(org, name="张敏", phone="13800000001")
    make_customer(org, name="张敏", phone="13800000002")
    make_customer(org, name="李娜", phone="13800000003", external_id="M9")
    header = ["会员编号", "姓名", "手机"]
    rows = [
        ["", "张敏", ""],  # which 张敏?
        ["M9", "李娜", "13800000001"],  # her number, another customer's phone
        ["", "", "123"],  # not a phone
        ["", "新客", "13800000008"],
    ]
    summary = run(write_csv(tmp_path / "c.csv", header, rows), store1, mode=GOOD_ROWS)
    assert [(e.row, e.column, e.code) for e in summary.errors] == [
        (2, "姓名", "customer_ambiguous"),
        (3, "手机", "phone_taken"),
        (4, "手机", "phone_invalid"),
    ]
    assert (
        summary.errors[1].message("en")
        == "The phone +8613800000001 already belongs to another customer."
    )
    assert summary.created == 1
    assert Customer.objects.get(external_id="M9").phone == "+8613800000003"


def test_an_xlsx_customer_list_with_a_title_row(tmp_path, store1):
    summary = run(write_xlsx(tmp_path / "c.xlsx", HEADER, ROWS), store1)
    assert (summary.created, summary.errors) == (3, [])
    assert Customer.objects.get(external_id="M001").phone == "+8613800138000"


def test_a_customer_file_in_the_same_file_twice_is_one_customer(tmp_path, store1):
    rows = [["", "林晓雨", "13800138000"], ["", "林晓雨", "13800138000"], ["", "", "13800138000"]]
    summary = run(write_csv(tmp_path / "c.csv", ["会员编号", "姓名", "手机"], rows), store1)
    assert summary.created == 1 and Customer.objects.count() == 1
