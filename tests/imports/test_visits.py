"""One visit, one order: a shop's own Excel order book (one row per product) and the merge command."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.kpis import kpis
from huitouke.analytics.loader import load_orders
from huitouke.analytics.models import CustomerAnalytics
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer, CustomerStats
from huitouke.imports.actions import do_commit_import
from huitouke.imports.visits import do_merge_visit_orders
from huitouke.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db

# The columns of seed 000, the order book shops keep in Excel.
HEADER = ["顾客姓名", "下单日期", "所购买的产品名称", "图片", "数量", "拿货价", "售价", "购买品类"]
BOOK = [
    # 李娜's first visit: two products on one day; she never came back.
    ["李娜", dt.datetime(2026, 3, 2), "玻尿酸精华", "", 1, 80, 268, "护肤"],
    ["李娜", dt.datetime(2026, 3, 2), "补水面膜", "", 2, 20, 68, "面膜"],
    # 王芳: one product on each of two days, a real repeat buyer.
    ["王芳", dt.datetime(2026, 3, 3), "补水面膜", "", 1, 20, 68, "面膜"],
    ["王芳", dt.datetime(2026, 3, 20), "口红", "", 1, 60, 199, "彩妆"],
    # 张敏: two rows of one product on one day (two lines), then a second visit.
    ["张敏", dt.datetime(2026, 3, 5), "口红", "", 1, 60, 199, "彩妆"],
    ["张敏", dt.datetime(2026, 3, 5), "口红", "", 1, 60, 199, "彩妆"],
    ["张敏", dt.datetime(2026, 3, 25), "玻尿酸精华", "", 1, 80, 268, "护肤"],
]
AS_OF = dt.date(2026, 3, 31)


def write_book(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def run(path: Path, store: Any, **options: Any) -> Any:
    return do_commit_import(
        path, organisation=store.organisation, store=store, kind="orders", actor=None, **options
    )


def numbers(org: Any) -> dict[str, Any]:
    """What the owner reads: per customer orders, lines, F and lifecycle; the month's KPIs."""
    refresh_organisation(org, AS_OF)
    customers = {}
    for customer in Customer.objects.filter(organisation=org):
        stats = CustomerStats.objects.get(customer=customer)
        analytics = CustomerAnalytics.objects.get(customer=customer)
        customers[customer.name] = (
            stats.orders_count,
            OrderLine.objects.filter(order__customer=customer).count(),
            str(stats.net_spend),
            analytics.frequency,
            analytics.lifecycle,
        )
    month = kpis(load_orders(org), None, dt.date(2026, 3, 1), AS_OF).row(0, named=True)
    return {
        "customers": customers,
        "orders": month["orders"],
        "buyers": month["buyers"],
        "repeat_buyers": month["repeat_buyers"],
        "repurchase_rate": month["repurchase_rate"],
    }


EXPECTED = {
    "customers": {
        "李娜": (1, 2, "404.00", 1, "new"),
        "王芳": (2, 2, "267.00", 2, "new"),
        "张敏": (2, 3, "666.00", 2, "new"),
    },
    "orders": 5,
    "buyers": 3,
    "repeat_buyers": 2,
    "repurchase_rate": pytest.approx(2 / 3),
}


def test_two_products_on_one_day_are_one_order_of_a_new_customer(tmp_path, store1):
    path = write_book(tmp_path / "订单.xlsx", BOOK)
    preview = run(path, store1, dry_run=True)
    assert (preview.details["order_rows"], preview.details["orders_created"]) == (7, 5)
    summary = run(path, store1)
    assert summary.errors == [] and summary.created == 5
    li = Order.objects.get(customer__name="李娜")
    assert li.lines.count() == 2
    assert (li.gross_amount, li.net_paid, li.cost_amount) == (
        Decimal("404.00"),
        Decimal("404.00"),
        Decimal("120.00"),
    )
    assert numbers(store1.organisation) == EXPECTED
    # Her two lines count once in the month's repurchase rate: she is not a repeat buyer.
    again = run(path, store1)
    assert again.created == 0 and Order.objects.count() == 5


def test_an_overlapping_book_adds_only_the_new_visits(tmp_path, store1):
    run(write_book(tmp_path / "march.xlsx", BOOK[:4]), store1)
    more = [*BOOK, ["李娜", dt.datetime(2026, 3, 28), "补水面膜", "", 1, 20, 68, "面膜"]]
    summary = run(write_book(tmp_path / "march-all.xlsx", more), store1)
    assert summary.created == 3  # 张敏's two visits and 李娜's second
    assert Order.objects.count() == 6


def test_one_order_per_row_keeps_the_old_way(tmp_path, store1):
    summary = run(write_book(tmp_path / "订单.xlsx", BOOK), store1, one_order_per_row=True)
    assert summary.created == 7
    assert CustomerStats.objects.get(customer__name="李娜").orders_count == 2


def test_merging_an_older_database_gives_the_numbers_of_a_fresh_import(tmp_path, store1):
    path = write_book(tmp_path / "订单.xlsx", BOOK)
    run(path, store1, one_order_per_row=True)  # as imports did before visits
    org = store1.organisation
    out = io.StringIO()
    call_command("merge_visit_orders", stdout=out)
    dry = json.loads(out.getvalue())
    assert dry == {
        "dry_run": True,
        "visits": 2,
        "orders_before": 4,
        "orders_after": 2,
        "orders_removed": 2,
        "customers": 2,
        "tiers_changed": 0,
    }
    assert Order.objects.count() == 7  # a dry run changes nothing
    out = io.StringIO()
    call_command("merge_visit_orders", "--apply", stdout=out)
    assert json.loads(out.getvalue())["orders_removed"] == 2
    assert Order.objects.count() == 5 and OrderLine.objects.count() == 7
    assert AuditEntry.objects.filter(action="merge_visit_orders").count() == 1
    assert numbers(org) == EXPECTED
    # Nothing left to merge, and the book imported again (either way) creates nothing.
    assert do_merge_visit_orders(org, actor=None, dry_run=False).groups == 0
    assert run(path, store1).created == 0
    assert run(path, store1, one_order_per_row=True).created == 0


def test_the_preview_says_rows_to_orders_and_the_mapping_can_keep_one_per_row(
    client, owner, huey_immediate, django_capture_on_commit_callbacks, tmp_path, store1
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from huitouke.imports.models import ImportJob

    client.force_login(owner)
    content = write_book(tmp_path / "订单.xlsx", BOOK).read_bytes()
    upload = SimpleUploadedFile("订单.xlsx", content)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:list"), {"kind": "orders", "format": "auto", "file": upload})
    job = ImportJob.objects.get()
    url = reverse("imports:job", args=[job.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "7 行 → 5 单" in page and 'name="one_order_per_row"' in page
    columns = job.summary["columns"]
    form = {f"col-{i}": job.summary["mapping"].get(c, "-") for i, c in enumerate(columns)}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:mapping", args=[job.pk]), {**form, "one_order_per_row": "on"})
    job.refresh_from_db()
    assert job.one_order_per_row
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "7 rows → 7 orders" in page


def test_the_cli_takes_one_order_per_row(tmp_path, store1):
    path = write_book(tmp_path / "订单.xlsx", BOOK)
    out = io.StringIO()
    call_command("import", "orders", str(path), "--one-order-per-row", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["created"] == 7
    assert summary["details"]["order_rows"] == 7 and summary["details"]["orders_created"] == 7
    from huitouke.imports.models import ImportJob

    assert ImportJob.objects.get().one_order_per_row


# 李娜's visit of 2026-03-02 has a bad row (a quantity no one can read): in good-rows mode the
# whole visit is left out, the other rows say which row spoiled it, and the corrected book
# imported again creates the visit whole. Rows of one visit may sit far apart in a book, and
# the bad one may come after a chunk already saved the others.
SPOILT = [
    ["李娜", dt.datetime(2026, 3, 2), "玻尿酸精华", "", 1, 80, 268, "护肤"],  # row 2
    ["王芳", dt.datetime(2026, 3, 3), "补水面膜", "", 1, 20, 68, "面膜"],  # row 3
    ["张敏", dt.datetime(2026, 3, 5), "口红", "", 1, 60, 199, "彩妆"],  # row 4
    ["李娜", dt.datetime(2026, 3, 2), "补水面膜", "", "两盒", 20, 68, "面膜"],  # row 5: bad
    ["李娜", dt.datetime(2026, 3, 2), "口红", "", 1, 60, 199, "彩妆"],  # row 6
]


@pytest.mark.parametrize("chunk_size", [1000, 1], ids=["one-chunk", "row-by-row"])
def test_a_bad_row_rejects_its_whole_visit_and_the_corrected_book_creates_it(
    tmp_path, store1, chunk_size
):
    path = write_book(tmp_path / "订单.xlsx", SPOILT)
    preview = run(path, store1, mode="good_rows", dry_run=True, chunk_size=chunk_size)
    assert (preview.created, preview.details["orders_created"]) == (2, 2)
    summary = run(path, store1, mode="good_rows", chunk_size=chunk_size)
    assert summary.committed and summary.created == 2
    assert summary.details["orders_created"] == 2 and summary.details["order_rows"] == 2
    by_row = {e.row: e for e in summary.errors}
    assert sorted(by_row) == [2, 5, 6]
    assert by_row[5].code == "quantity_invalid"
    for row in (2, 6):
        assert by_row[row].code == "visit_line_rejected"
        assert "第 5 行" in by_row[row].message("zh")
        assert "Row 5 " in by_row[row].message("en")
    assert summary.rejected_rows == 3
    # Nothing of 李娜's visit is saved: no order, no line, no spend.
    assert not Order.objects.filter(customer__name="李娜").exists()
    assert OrderLine.objects.count() == 2
    assert sorted(Order.objects.values_list("customer__name", flat=True)) == ["张敏", "王芳"]
    li = CustomerStats.objects.filter(customer__name="李娜").first()
    assert li is None or (li.orders_count, li.net_spend) == (0, Decimal("0"))

    fixed = [row[:] for row in SPOILT]
    fixed[3][4] = 2
    again = run(write_book(tmp_path / "订单-改.xlsx", fixed), store1, chunk_size=chunk_size)
    assert again.errors == [] and again.created == 1
    visit = Order.objects.get(customer__name="李娜")
    assert visit.lines.count() == 3
    assert visit.net_paid == Decimal("268") + 2 * Decimal("68") + Decimal("199")
    stats = CustomerStats.objects.get(customer__name="李娜")
    assert (stats.orders_count, stats.net_spend) == (1, Decimal("603.00"))
    assert run(path, store1, mode="good_rows").created == 0  # nothing twice


# A row whose date or customer cell cannot be read cannot be put in its visit: the visit's other
# rows are saved as its order without it. The corrected book imported again adds that row's line
# to the visit's order (stats recomputed), creates no order, and adds nothing a second time.
UNGROUPABLE = [
    ["李娜", dt.datetime(2026, 3, 2), "玻尿酸精华", "", 1, 80, 268, "护肤"],  # row 2
    ["王芳", dt.datetime(2026, 3, 3), "补水面膜", "", 1, 20, 68, "面膜"],  # row 3
    ["李娜", "2026-02-30", "补水面膜", "", 2, 20, 68, "面膜"],  # row 4: no such day
    ["张敏", dt.datetime(2026, 3, 5), "口红", "", 1, 60, 199, "彩妆"],  # row 5
    ["", dt.datetime(2026, 3, 5), "口红", "", 1, 60, 199, "彩妆"],  # row 6: whose?
    ["李娜", dt.datetime(2026, 3, 2), "口红", "", 1, 60, 199, "彩妆"],  # row 7
]


def corrected(rows: list[list[Any]]) -> list[list[Any]]:
    fixed = [row[:] for row in rows]
    fixed[2][1] = dt.datetime(2026, 3, 2)
    fixed[4][0] = "张敏"
    return fixed


def visit_of(name: str) -> Order:
    return Order.objects.get(customer__name=name)


@pytest.mark.parametrize("chunk_size", [1000, 1], ids=["one-chunk", "row-by-row"])
def test_a_row_left_out_of_its_visit_is_added_by_the_corrected_book_once(
    tmp_path, store1, chunk_size
):
    first = run(write_book(tmp_path / "a.xlsx", UNGROUPABLE), store1, mode="good_rows")
    assert first.committed and sorted(e.row for e in first.errors) == [4, 6]
    assert first.created == 3  # 李娜 (rows 2, 7), 王芳, 张敏 (row 5): the bad rows stand alone
    assert (visit_of("李娜").lines.count(), visit_of("张敏").lines.count()) == (2, 1)
    assert CustomerStats.objects.get(customer__name="李娜").net_spend == Decimal("467.00")

    book = write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE))
    preview = run(book, store1, dry_run=True, chunk_size=chunk_size)
    assert (preview.created, preview.updated, preview.details["order_rows_added"]) == (0, 2, 2)
    assert OrderLine.objects.count() == 4  # a dry run writes nothing
    again = run(book, store1, chunk_size=chunk_size)
    assert again.errors == [] and (again.created, again.updated) == (0, 2)
    assert again.details["order_rows_added"] == 2 and again.skipped == 4
    assert Order.objects.count() == 3
    li = visit_of("李娜")
    assert sorted(li.lines.values_list("name", "quantity")) == [
        ("口红", 1),
        ("玻尿酸精华", 1),
        ("补水面膜", 2),
    ]
    # 268 + 2 × 68 + 199, the same as a fresh import of the corrected book would give.
    assert (li.gross_amount, li.net_paid, li.cost_amount) == (
        Decimal("603.00"),
        Decimal("603.00"),
        Decimal("180.00"),
    )
    # 张敏's two identical 口红 rows: the one already there is not taken for the missing one.
    assert visit_of("张敏").lines.count() == 2 and visit_of("张敏").net_paid == Decimal("398.00")
    for name, spend in (("李娜", "603.00"), ("张敏", "398.00"), ("王芳", "68.00")):
        stats = CustomerStats.objects.get(customer__name=name)
        assert (stats.orders_count, stats.net_spend) == (1, Decimal(spend)), name
    # Imported a third time, either way: nothing more.
    for options in ({}, {"one_order_per_row": True}, {"mode": "good_rows"}):
        more = run(book, store1, **options)
        assert (more.created, more.updated) == (0, 0), options
    assert OrderLine.objects.count() == 6 and Order.objects.count() == 3


def test_the_same_book_imported_fresh_gives_the_same_orders(tmp_path, store1):
    # The reference for the test above: the corrected book into an empty shop.
    run(write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE)), store1)
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 6
    assert visit_of("李娜").net_paid == Decimal("603.00")
    assert visit_of("张敏").net_paid == Decimal("398.00")


def test_visits_imported_before_lines_kept_their_row_are_matched_by_content(tmp_path, store1):
    run(write_book(tmp_path / "a.xlsx", UNGROUPABLE), store1, mode="good_rows")
    OrderLine.objects.update(import_key="")  # as an import of an earlier version left them
    again = run(write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE)), store1)
    assert (again.created, again.updated, again.details["order_rows_added"]) == (0, 2, 2)
    assert visit_of("李娜").lines.count() == 3 and visit_of("张敏").lines.count() == 2
    assert run(write_book(tmp_path / "c.xlsx", corrected(UNGROUPABLE)), store1).updated == 0


def test_one_order_per_row_adds_only_the_row_a_visit_lacks(tmp_path, store1):
    run(write_book(tmp_path / "a.xlsx", UNGROUPABLE), store1, mode="good_rows")
    book = write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE))
    again = run(book, store1, one_order_per_row=True)
    assert again.created == 2  # rows 4 and 6, each an order of its own as asked
    assert Order.objects.count() == 5 and OrderLine.objects.count() == 6
    assert run(book, store1).created == 0 and run(book, store1).updated == 0


def test_a_merged_older_database_takes_the_missing_row_into_the_merged_visit(tmp_path, store1):
    run(
        write_book(tmp_path / "a.xlsx", UNGROUPABLE),
        store1,
        one_order_per_row=True,
        mode="good_rows",
    )
    assert Order.objects.count() == 4
    call_command("merge_visit_orders", "--apply", stdout=io.StringIO())
    assert Order.objects.count() == 3
    assert not OrderLine.objects.filter(import_key="").exists()
    again = run(write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE)), store1)
    assert (again.created, again.updated) == (0, 2)
    assert visit_of("李娜").lines.count() == 3 and visit_of("李娜").net_paid == Decimal("603.00")


def test_the_job_page_names_its_counts_in_words(client, owner, tmp_path, store1):
    from django.urls import reverse

    from huitouke.imports.models import ImportJob
    from huitouke.imports.summary import DETAIL_LABELS

    run(write_book(tmp_path / "a.xlsx", UNGROUPABLE), store1, mode="good_rows")
    summary = run(write_book(tmp_path / "b.xlsx", corrected(UNGROUPABLE)), store1)
    job = ImportJob.objects.create(
        organisation=store1.organisation,
        store=store1,
        kind="orders",
        status="done",
        summary=summary.for_job(),
        created_by=owner,
    )
    assert set(summary.details) <= set(DETAIL_LABELS)
    client.force_login(owner)
    page = client.get(reverse("imports:job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en").content
    text = page.decode()
    assert "rows added to a visit imported before without them: 2" in text
    assert "order_rows_added" not in text
