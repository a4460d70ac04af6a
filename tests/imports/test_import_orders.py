"""Importing orders: idempotent, overlapping files, bad rows, both modes, stats, encodings, matching."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from tests.helpers import make_customer
from tests.imports.importfiles import (
    ORDER_HEADER,
    expected_by_phone,
    order_rows,
    recomputed_stats,
    stored_stats,
    write_csv,
    write_xlsx,
)

from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer, CustomerStats
from huitouke.imports.actions import do_commit_import
from huitouke.imports.reports import write_bad_rows
from huitouke.imports.summary import GOOD_ROWS
from huitouke.sales.models import Category, Order, OrderLine, Product

pytestmark = pytest.mark.django_db


def run(path: Path, store: Any, **options: Any) -> Any:
    options.setdefault("actor", None)
    return do_commit_import(
        path, organisation=store.organisation, store=store, kind="orders", **options
    )


def counts() -> tuple[int, ...]:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        Customer.objects.count(),
        Product.objects.count(),
        Category.objects.count(),
        CustomerStats.objects.count(),
    )


def test_reimporting_the_same_file_creates_nothing(tmp_path, store1):
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, order_rows(12, lines=2))
    first = run(path, store1)
    assert (first.created, first.errors, first.committed) == (12, [], True)
    assert first.details["customers_created"] == 7
    before = counts()
    assert before[:3] == (12, 24, 7)

    again = run(path, store1)
    assert (again.created, again.updated, again.skipped, again.errors) == (0, 0, 24, [])
    assert again.details["orders_existing"] == 12
    assert counts() == before


def test_an_overlapping_file_creates_only_the_new_orders(tmp_path, store1):
    run(write_csv(tmp_path / "a.csv", ORDER_HEADER, order_rows(10)), store1)
    overlap = run(write_csv(tmp_path / "b.csv", ORDER_HEADER, order_rows(10, start=5)), store1)
    assert (overlap.created, overlap.skipped) == (5, 5)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == [
        f"SO{n:05d}" for n in range(15)
    ]


def test_rows_without_an_order_number_are_keyed_by_their_content(tmp_path, store1):
    # One order per row (the option): each row keyed by its content.
    header = ["顾客姓名", "手机", "下单日期", "产品名称", "实付"]
    rows = [
        ["王丽", "13800000001", "2024-03-05 14:03", "面膜", "88"],
        ["王丽", "13800000001", "2024-03-05 14:03", "面膜", "88"],  # bought two, separately
        ["陈静", "13800000002", "2024-03-06", "精华", "268"],
    ]
    path = write_csv(tmp_path / "no-ids.csv", header, rows)
    assert run(path, store1, one_order_per_row=True).created == 3
    assert run(path, store1, one_order_per_row=True).created == 0
    keys = list(Order.objects.values_list("external_id", flat=True))
    assert len(set(keys)) == 3 and all(k.startswith("row:") for k in keys)
    # The same rows in another file, one more appended: only that one is new.
    more = write_csv(
        tmp_path / "more.csv", header, [*rows, ["陈静", "13800000002", "2024-03-07", "精华", "268"]]
    )
    assert run(more, store1, one_order_per_row=True).created == 1
    # Imported per visit now, the rows already there are still recognised.
    assert run(more, store1).created == 0


def test_rows_of_one_visit_are_one_order_and_keyed_by_the_visit(tmp_path, store1):
    header = ["顾客姓名", "手机", "下单日期", "产品名称", "实付"]
    rows = [
        ["王丽", "13800000001", "2024-03-05 14:03", "面膜", "88"],
        ["王丽", "13800000001", "2024-03-05 14:03", "面膜", "88"],  # two of them, one visit
        ["陈静", "13800000002", "2024-03-06", "精华", "268"],
        ["王丽", "13800000001", "2024-03-05 16:30", "口红", "199"],  # later that day: a visit
    ]
    path = write_csv(tmp_path / "no-ids.csv", header, rows)
    summary = run(path, store1)
    assert summary.created == 3
    assert summary.details["order_rows"] == 4 and summary.details["orders_created"] == 3
    assert run(path, store1).created == 0
    keys = list(Order.objects.values_list("external_id", flat=True))
    assert len(set(keys)) == 3 and all(k.startswith("visit:") for k in keys)
    first = Order.objects.get(net_paid=Decimal("176.00"))
    assert first.lines.count() == 2
    more = write_csv(
        tmp_path / "more.csv", header, [*rows, ["陈静", "13800000002", "2024-03-07", "精华", "268"]]
    )
    assert run(more, store1).created == 1
    assert run(more, store1, one_order_per_row=True).created == 0


def test_bad_rows_are_named_by_row_and_column_in_chinese_and_english(tmp_path, store1):
    rows = order_rows(4)
    rows[1][3] = "2024-13-45"  # file row 3
    rows[3][8] = "abc"  # file row 5
    summary = run(write_csv(tmp_path / "bad.csv", ORDER_HEADER, rows), store1)
    found = [(e.row, e.column, e.value, e.code) for e in summary.errors]
    assert found == [
        (3, "下单日期", "2024-13-45", "date_invalid"),
        (5, "实付", "abc", "amount_invalid"),
    ]
    date_error, amount_error = summary.errors
    assert date_error.message("en") == (
        "“2024-13-45” is not a date we recognise (write it like 2024-03-05 or 2024/3/5 14:03)."
    )
    assert (
        date_error.message("zh")
        == "“2024-13-45”不是可识别的日期（请写成 2024-03-05 或 2024/3/5 14:03）。"
    )
    assert amount_error.message("zh").startswith("“abc”不是有效金额")
    report = summary.as_dict("zh")["errors"]
    assert report[0] == {
        "row": 3,
        "column": "下单日期",
        "value": "2024-13-45",
        "code": "date_invalid",
        "message": date_error.message("zh"),
    }


def test_all_or_nothing_writes_nothing_when_one_row_is_bad(tmp_path, store1):
    rows = order_rows(30, lines=2)
    rows[-1][8] = "-5"  # the very last row
    before = counts()
    audits = AuditEntry.objects.count()
    summary = run(write_csv(tmp_path / "bad.csv", ORDER_HEADER, rows), store1, chunk_size=8)
    assert summary.rolled_back and not summary.committed
    assert sorted((e.row, e.code) for e in summary.errors) == [
        (60, "order_line_rejected"),  # the other line of the same order
        (61, "amount_negative"),
    ]
    assert (summary.created, summary.updated) == (0, 0)
    assert counts() == before
    assert AuditEntry.objects.count() == audits


def test_good_rows_mode_imports_the_rest_and_hands_back_the_bad_rows(tmp_path, store1):
    rows = order_rows(20)
    rows[2][3] = "2024/02/30"  # no such day
    rows[7][2] = "1380000"  # not a phone
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)
    summary = run(path, store1, mode=GOOD_ROWS, chunk_size=5)
    assert summary.committed and summary.created == 18
    assert summary.rejected_rows == 2
    assert Order.objects.count() == 18

    fix = tmp_path / "to-fix.csv"
    write_bad_rows(fix, path, kind="orders", errors=summary.errors, lang="en")
    with open(fix, encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [*ORDER_HEADER, "错误 error"]
    assert [r[0] for r in table[1:]] == ["SO00002", "SO00007"]
    assert "is not a date we recognise" in table[1][-1]
    # The owner fixes the two cells and imports the file as it is.
    table[1][3] = "2024/02/28"
    table[2][2] = "13800000007"
    with open(fix, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(table)
    again = run(fix, store1, mode=GOOD_ROWS)
    assert (again.created, again.errors) == (2, [])
    assert Order.objects.count() == 20
    assert run(path, store1, mode=GOOD_ROWS).created == 0  # the original file adds nothing now


def test_a_bad_line_rejects_its_whole_order(tmp_path, store1):
    rows = order_rows(6, lines=3)
    rows[4][6] = "two"  # order SO00001, its second line (file row 6)
    path = write_csv(tmp_path / "lines.csv", ORDER_HEADER, rows)
    summary = run(path, store1, mode=GOOD_ROWS, chunk_size=4)
    assert summary.created == 5
    assert not Order.objects.filter(external_id="SO00001").exists()
    assert sorted((e.row, e.code) for e in summary.errors) == [
        (5, "order_line_rejected"),
        (6, "quantity_invalid"),
        (7, "order_line_rejected"),
    ]
    assert summary.errors[0].message("en").startswith("Another row of order “SO00001” has an error")
    # Every saved order has all its lines.
    for order in Order.objects.all():
        assert order.lines.count() == 3
    rows[4][6] = "2"
    assert run(write_csv(tmp_path / "fixed.csv", ORDER_HEADER, rows), store1).created == 1
    assert Order.objects.get(external_id="SO00001").lines.count() == 3


def test_stats_after_import_equal_an_independent_recomputation(tmp_path, store1):
    rows = order_rows(40, lines=2)
    recent = timezone.localtime() - timedelta(days=3)
    rows.append(
        [
            "SO09999",
            "顾客1",
            "13900000001",
            recent.strftime("%Y-%m-%d %H:%M"),
            "面膜",
            "品类9",
            1,
            "50",
            "50",
        ]
    )
    run(
        write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows), store1, mode=GOOD_ROWS, chunk_size=7
    )
    now = timezone.now()
    expected = expected_by_phone(rows)
    assert Customer.objects.count() == len(expected)
    for customer in Customer.objects.all():
        stats = stored_stats(customer)
        assert (stats["orders_count"], stats["net_spend"]) == expected[customer.phone]
        assert stats == recomputed_stats(customer, now)
    assert CustomerStats.objects.get(customer__phone="+8613900000001").spend_12m == Decimal("50.00")


def test_order_amounts_and_lines_follow_the_file(tmp_path, store1):
    header = [
        "订单号",
        "会员编号",
        "顾客姓名",
        "下单时间",
        "商品名称",
        "商品编码",
        "数量",
        "单价",
        "拿货价",
        "优惠",
        "品类",
    ]
    rows = [
        [
            "T1",
            "M001",
            "林晓雨",
            "2024年3月5日 14:03",
            "玫瑰精华水",
            "SKU-1",
            "2",
            "¥138.00",
            "40",
            "20",
            "护肤",
        ],
        ["T1", "M001", "林晓雨", "2024年3月5日 14:03", "面膜", "", "1", "50", "", "", "护肤"],
    ]
    run(write_csv(tmp_path / "o.csv", header, rows), store1)
    order = Order.objects.get(external_id="T1")
    assert (order.gross_amount, order.net_paid, order.discount_amount) == (
        Decimal("326.00"),
        Decimal("306.00"),
        Decimal("20.00"),
    )
    assert order.cost_amount == Decimal("80.00")
    assert timezone.localtime(order.placed_at).replace(tzinfo=None) == datetime(2024, 3, 5, 14, 3)
    assert order.customer.external_id == "M001" and order.customer.name == "林晓雨"
    lines = sorted((line.name, line.quantity, line.unit_price) for line in order.lines.all())
    assert lines == [("玫瑰精华水", 2, Decimal("138.00")), ("面膜", 1, Decimal("50.00"))]
    assert Product.objects.get(sku="SKU-1").category.name == "护肤"
    assert Category.objects.filter(name="护肤").count() == 1


@pytest.mark.parametrize(
    "name,encoding",
    [
        ("utf8.csv", "utf-8"),
        ("bom.csv", "utf-8-sig"),
        ("gbk.csv", "gbk"),
        ("gb18030.csv", "gb18030"),
        ("tabs.tsv", "utf-8"),
        ("book.xlsx", None),
    ],
)
def test_every_encoding_and_layout_imports_the_same(tmp_path, store1, name, encoding):
    rows = order_rows(9, lines=2)
    path = tmp_path / name
    if encoding is None:
        write_xlsx(path, ORDER_HEADER, rows)
    else:
        write_csv(path, ORDER_HEADER, rows, encoding)
    summary = run(path, store1)
    assert (summary.created, summary.errors) == (9, [])
    expected = expected_by_phone(rows)
    got = {
        c.phone: (c.stats.orders_count, c.stats.net_spend)
        for c in Customer.objects.select_related("stats")
    }
    assert got == expected


def test_customers_are_matched_by_number_phone_wechat_or_unambiguous_name(tmp_path, org, store1):
    by_phone = make_customer(org, name="王丽", phone="13800000001")
    by_number = make_customer(org, name="陈静", phone=None, external_id="M7")
    by_name = make_customer(org, name="林晓雨", phone=None)
    make_customer(org, name="张敏", phone="13800000003")
    make_customer(org, name="张敏", phone="13800000004")
    header = ["订单号", "会员编号", "顾客姓名", "手机", "日期", "实付"]
    rows = [
        ["1", "", "王小丽", "13800000001", "2024-03-01", "10"],  # phone wins over the name
        ["2", "M7", "", "", "2024-03-01", "20"],
        ["3", "", "林晓雨", "", "2024-03-01", "30"],
        ["4", "", "林晓雨", "13800000009", "2024-03-02", "35"],  # her phone, filled in
        ["5", "", "张敏", "", "2024-03-01", "40"],  # two 张敏: which one?
        ["6", "", "赵雪", "", "2024-03-01", "50"],  # new
    ]
    summary = run(write_csv(tmp_path / "m.csv", header, rows), store1, mode=GOOD_ROWS)
    assert [(e.row, e.column, e.code) for e in summary.errors] == [
        (6, "顾客姓名", "customer_ambiguous")
    ]
    assert summary.errors[0].message("zh") == "有多位顾客叫“张敏”，请补充手机或客户编号。"
    owner_of = dict(Order.objects.values_list("external_id", "customer__name"))
    assert owner_of == {"1": "王丽", "2": "陈静", "3": "林晓雨", "4": "林晓雨", "6": "赵雪"}
    by_name.refresh_from_db()
    assert by_name.phone == "+8613800000009"
    assert by_phone.orders.count() == 1 and by_number.orders.count() == 1
    assert summary.details["customers_created"] == 1


def test_a_merged_duplicate_is_never_matched_by_any_of_her_keys(tmp_path, org, store1):
    kept = make_customer(org, name="王丽", phone="13800000001", external_id="M1", wechat_id="wl")
    duplicate = make_customer(org, name="王丽丽", phone=None)
    # Merged away, she may keep the phone, number and WeChat id of the customer she became.
    Customer.objects.filter(pk=duplicate.pk).update(
        merged_into=kept, phone="+8613800000001", external_id="M1", wechat_id="wl"
    )
    header = ["订单号", "会员编号", "顾客姓名", "手机", "微信号", "日期", "实付"]
    rows = [
        ["1", "", "", "13800000001", "", "2024-03-01", "10"],
        ["2", "M1", "", "", "", "2024-03-01", "20"],
        ["3", "", "", "", "wl", "2024-03-01", "30"],
        ["4", "", "王丽丽", "", "", "2024-03-01", "40"],  # only the duplicate has this name
    ]
    summary = run(write_csv(tmp_path / "m.csv", header, rows), store1)
    assert (summary.created, summary.errors) == (4, [])
    owner_of = dict(Order.objects.values_list("external_id", "customer_id"))
    assert [owner_of[n] for n in "123"] == [kept.pk] * 3
    assert owner_of["4"] not in (kept.pk, duplicate.pk)
    assert not Order.objects.filter(customer=duplicate).exists()


def test_unknown_customers_are_rejected_when_creating_them_is_off(tmp_path, org, store1):
    make_customer(org, name="王丽", phone="13800000001")
    rows = [
        ["1", "王丽", "13800000001", "2024-03-01", "x", "", 1, "", "10"],
        ["2", "新人", "13800000002", "2024-03-01", "x", "", 1, "", "10"],
    ]
    summary = run(
        write_csv(tmp_path / "o.csv", ORDER_HEADER, rows),
        store1,
        create_customers=False,
        mode=GOOD_ROWS,
    )
    assert summary.created == 1
    assert [(e.row, e.code, e.value) for e in summary.errors] == [
        (3, "customer_not_found", "13800000002")
    ]
    assert not Customer.objects.filter(name="新人").exists()


def test_products_stay_plain_items_when_creating_them_is_off(tmp_path, store1):
    run(write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows(3)), store1, create_products=False)
    assert (Product.objects.count(), Category.objects.count()) == (0, 0)
    assert {line.name for line in OrderLine.objects.all()} == {"产品0", "产品1", "产品2"}
    assert OrderLine.objects.filter(product__isnull=False).count() == 0


def test_a_dry_run_counts_and_previews_but_writes_nothing(tmp_path, store1):
    rows = order_rows(15, lines=2)
    rows[3][8] = "oops"
    before = counts()
    summary = run(
        write_csv(tmp_path / "o.csv", ORDER_HEADER, rows), store1, dry_run=True, chunk_size=4
    )
    assert counts() == before
    assert (summary.created, summary.rejected_rows, summary.committed) == (14, 2, False)
    assert summary.details["customers_created"] == 7
    assert summary.preview[0] == {
        "row": 2,
        "status": "new",
        "external_id": "SO00000",
        "customer": "顾客0",
        "customer_new": True,
        "placed_at": "2024-01-01 10:00",
        "items": "产品0 × 1; 产品1 × 2",
        "amount": "295.00",
        "store": "万达店",
    }


def test_cancelling_keeps_whole_chunks_in_good_rows_mode_and_nothing_otherwise(tmp_path, store1):
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows(20, lines=2))
    asked = []

    def cancel_after_two_chunks() -> bool:
        asked.append(1)
        return len(asked) >= 2

    nothing = run(path, store1, chunk_size=6, should_cancel=cancel_after_two_chunks)
    assert nothing.cancelled and nothing.rolled_back and Order.objects.count() == 0
    asked.clear()
    partial = run(path, store1, mode=GOOD_ROWS, chunk_size=6, should_cancel=cancel_after_two_chunks)
    assert partial.cancelled and partial.created == 6
    assert all(o.lines.count() == 2 for o in Order.objects.all())
    rest = run(path, store1, mode=GOOD_ROWS)
    assert (rest.created, Order.objects.count()) == (14, 20)


def test_every_import_is_audited(tmp_path, store1, owner):
    run(write_csv(tmp_path / "o.csv", ORDER_HEADER, order_rows(2)), store1, actor=owner)
    entry = AuditEntry.objects.get(action="import")
    assert entry.actor == owner and entry.organisation == store1.organisation
    assert entry.detail["created"] == 2 and entry.detail["file"] == "o.csv"


def test_the_store_column_picks_or_creates_the_store(tmp_path, store1, store2):
    header = ["订单号", "顾客姓名", "日期", "实付", "门店"]
    rows = [
        ["1", "a", "2024-03-01", "1", "国贸店"],
        ["2", "b", "2024-03-01", "1", "新店"],
        ["3", "c", "2024-03-01", "1", ""],
    ]
    run(write_csv(tmp_path / "o.csv", header, rows), store1)
    assert dict(Order.objects.values_list("external_id", "store__name")) == {
        "1": "国贸店",
        "2": "新店",
        "3": "万达店",
    }
    assert Customer.objects.get(name="b").home_store.name == "新店"


def test_a_wrong_mapping_is_corrected_with_overrides(tmp_path, store1):
    header = ["客户", "联系人电话", "时间", "X"]
    rows = [["王丽", "13800000001", "2024-03-01", "99"]]
    path = write_csv(tmp_path / "o.csv", header, rows)
    first = run(path, store1)
    assert first.fatal and first.errors[0].code == "missing_columns"
    fixed = run(path, store1, mapping={"X": "amount", "联系人电话": "phone"})
    assert (fixed.created, fixed.errors) == (1, [])
    assert Order.objects.get().net_paid == Decimal("99.00")
    assert Customer.objects.get().phone == "+8613800000001"


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_save_every_order_once(tmp_path, store1):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    rows = order_rows(300, lines=2)
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)

    def one_run() -> int:
        try:
            return run(path, store1, mode=GOOD_ROWS, chunk_size=40).created
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        created = sorted(pool.map(lambda _: one_run(), range(2)))
    assert sum(created) == 300
    assert Order.objects.count() == 300 and OrderLine.objects.count() == 600
    assert Customer.objects.count() == 7
    expected = expected_by_phone(rows)
    for customer in Customer.objects.select_related("stats"):
        assert (customer.stats.orders_count, customer.stats.net_spend) == expected[customer.phone]


def test_lines_of_one_order_far_apart_in_the_file_make_one_order(tmp_path, store1):
    rows = order_rows(12)
    late_line = list(rows[0])
    late_line[4], late_line[8] = "加购", "30.00"
    rows.append(late_line)  # a second line of SO00000, after eleven other orders
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)
    summary = run(path, store1, mode=GOOD_ROWS, chunk_size=3)
    assert summary.created == 12 and summary.details["order_rows_appended"] == 1
    first = Order.objects.get(external_id="SO00000")
    assert (first.lines.count(), first.net_paid) == (2, Decimal("130.00"))
    assert first.customer.stats.net_spend == Decimal("130.00") + sum(
        (o.net_paid for o in Order.objects.filter(customer=first.customer).exclude(pk=first.pk)),
        Decimal("0.00"),
    )
    again = run(path, store1, mode=GOOD_ROWS, chunk_size=3)
    assert again.created == 0 and Order.objects.get(external_id="SO00000").lines.count() == 2
