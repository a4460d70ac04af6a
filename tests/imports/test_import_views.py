"""The import screens: owners only, upload → preview → fix the mapping → import, reports, cancel."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from tests.helpers import make_customer
from tests.imports.test_import_bills import WECHAT

from huitouke.audit.models import AuditEntry
from huitouke.imports.models import ImportJob, ImportStatus, PayerAlias
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db


def upload(client, name: str, content: bytes, kind: str = "orders", fmt: str = "auto"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("imports:list"), {"kind": kind, "format": fmt, "file": file})


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def test_only_owners_see_the_import_screens(
    client, owner, manager, staff_a, other_owner, org, store1
):
    job = ImportJob.objects.create(
        organisation=org, kind="orders", path="/nonexistent", original_name="x.csv"
    )
    client.force_login(owner)
    for url in (reverse("imports:list"), reverse("imports:job", args=[job.pk])):
        assert client.get(url).status_code == 200
    for user in (manager, staff_a):
        client.force_login(user)
        assert client.get(reverse("imports:list")).status_code == 403
        assert client.get(reverse("imports:job", args=[job.pk])).status_code == 403
        assert (
            client.post(reverse("imports:commit", args=[job.pk]), {"mode": "good_rows"}).status_code
            == 403
        )
    client.force_login(other_owner)
    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 404
    assert client.get(reverse("imports:errors", args=[job.pk, "csv"])).status_code == 404
    client.logout()
    assert client.get(reverse("imports:list")).status_code == 302  # to the login page


def test_upload_fix_the_mapping_preview_and_import(
    owner_client, huey_immediate, django_capture_on_commit_callbacks, store1
):
    rows = [
        ["顾客姓名", "手机", "日期", "付款数"],
        ["王丽", "13800000001", "2024-03-05", "88"],
        ["陈静", "13800000002", "2024-03-06", "abc"],
        ["王丽", "13800000001", "2024-03-07", "120"],
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(owner_client, "三月.csv", csv_bytes(rows))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:job", args=[job.pk])
    # No column for the amount: the page says so and offers the mapping.
    assert job.status == ImportStatus.READY
    assert [e["code"] for e in job.errors] == ["missing_columns"]
    page = owner_client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "付款数" in page and "The file has no column for: an amount or a unit price." in page
    assert 'data-testid="commit"' not in page

    columns = job.summary["columns"]
    form = {f"col-{i}": job.summary["mapping"].get(c, "-") for i, c in enumerate(columns)}
    form[f"col-{columns.index('付款数')}"] = "amount"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("imports:mapping", args=[job.pk]), form)
    job.refresh_from_db()
    assert job.mapping["付款数"] == "amount"
    assert (job.status, job.created_count, job.error_count) == ("ready", 2, 1)
    assert Order.objects.count() == 0  # a preview writes nothing
    page = owner_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "王丽" in page and 'data-testid="preview"' in page and "不是有效金额" in page

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("imports:commit", args=[job.pk]),
            {"mode": "good_rows", "create_customers": "on", "create_products": "on"},
        )
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("done", 2, 1)
    assert sorted(Order.objects.values_list("net_paid", flat=True)) == [88, 120]
    assert AuditEntry.objects.filter(action="import", actor=job.created_by).count() == 1

    # Finished: the polled fragment asks the page to reload and show the outcome.
    response = owner_client.get(reverse("imports:status", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"

    report = owner_client.get(
        reverse("imports:errors", args=[job.pk, "xlsx"]), HTTP_ACCEPT_LANGUAGE="en"
    )
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("row", "column", "value", "message"),
        (
            3,
            "付款数",
            "abc",
            "“abc” is not an amount (write it like 1234.50, ¥1,234.50 or 1234.5元).",
        ),
    ]
    fix = owner_client.get(reverse("imports:bad_rows", args=[job.pk]))
    table = list(csv.reader(io.StringIO(b"".join(fix.streaming_content).decode("utf-8-sig"))))
    assert table[0] == ["顾客姓名", "手机", "日期", "amount", "错误 error"]
    assert table[1][:4] == ["陈静", "13800000002", "2024-03-06", "abc"]


def test_a_running_import_shows_progress_polled_every_second(owner_client, org):
    job = ImportJob.objects.create(
        organisation=org,
        kind="orders",
        path="/x.csv",
        original_name="x.csv",
        status=ImportStatus.RUNNING,
    )
    job.signal_path("progress").write_text(json.dumps({"done": 250, "total": 1000}))
    response = owner_client.get(reverse("imports:status", args=[job.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in html and 'value="25"' in html
    # Cancelling leaves a note for the worker, which stops after the chunk in progress.
    owner_client.post(reverse("imports:cancel", args=[job.pk]))
    assert job.signal_path("cancel").exists()
    job.signal_path("cancel").unlink()
    job.signal_path("progress").unlink()


def test_a_queued_import_is_cancelled_at_once(owner_client, org):
    job = ImportJob.objects.create(
        organisation=org,
        kind="orders",
        path="/x.csv",
        original_name="x.csv",
        status=ImportStatus.QUEUED,
    )
    owner_client.post(reverse("imports:cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    job.signal_path("cancel").unlink()


def test_bill_payers_are_confirmed_on_the_page(
    owner_client, huey_immediate, django_capture_on_commit_callbacks, org, store1
):
    lin = make_customer(org, name="林晓雨", phone="13800138000")
    with django_capture_on_commit_callbacks(execute=True):
        upload(owner_client, "微信支付账单.csv", WECHAT.encode("utf-8-sig"))
    job = ImportJob.objects.get()
    assert job.detected_format == "wechat"
    payers = [p["payer"] for p in job.summary["payers"]]
    page = owner_client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'data-testid="payers"' in page and "小美🌸" in page
    form = {f"payer-{i}": "new" for i in range(len(payers))}
    form[f"payer-{payers.index('小美🌸')}-key"] = "138 0013 8000"  # her phone
    form[f"payer-{payers.index('Lily')}"] = "none"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("imports:payers", args=[job.pk]), form)
    assert PayerAlias.objects.get(payer="小美🌸").customer == lin
    assert PayerAlias.objects.get(payer="Lily").customer is None
    job.refresh_from_db()
    assert job.status == "ready"
    mei = next(p for p in job.summary["payers"] if p["payer"] == "小美🌸")
    assert (mei["match"], mei["customer_id"]) == ("alias", lin.pk)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("imports:commit", args=[job.pk]),
            {"mode": "all_or_nothing", "create_customers": "on"},
        )
    job.refresh_from_db()
    assert (job.status, job.message, job.errors) == ("done", "", [])
    assert lin.orders.count() == 2


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
@pytest.mark.parametrize(
    "status", ["analysing", "ready", "queued", "running", "done", "failed", "cancelled"]
)
def test_the_job_page_renders_in_every_state_and_language(owner_client, org, status, lang):
    job = ImportJob.objects.create(
        organisation=org,
        kind="orders",
        path="/x.csv",
        original_name="x.csv",
        status=status,
        detected_format="wechat",
        summary={
            "columns": ["交易对方"],
            "mapping": {},
            "preview": [
                {
                    "row": 2,
                    "status": "new",
                    "customer": "王丽",
                    "customer_new": True,
                    "placed_at": "2024-03-05 14:03",
                    "items": "面膜 × 1",
                    "amount": "88.00",
                    "store": "总店",
                }
            ],
            "payers": [
                {
                    "payer": "王丽",
                    "rows": 1,
                    "amount": "88.00",
                    "customer_id": None,
                    "customer_name": "",
                    "match": "new",
                    "candidates": [],
                }
            ],
            "details": {"orders_created": 1},
            "rolled_back": status == "failed",
            "cancelled": status == "cancelled",
        },
        errors=[
            {"row": 3, "column": "金额(元)", "value": "x", "code": "amount_invalid", "params": {}}
        ],
        error_count=1,
    )
    response = owner_client.get(reverse("imports:job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    page = response.content.decode()
    if status in ("analysing", "queued", "running"):
        assert 'hx-trigger="every 1s"' in page  # only the progress while busy
        return
    message = "不是有效金额" if lang == "zh-hans" else "is not an amount"
    assert message in page
    if status == "ready":
        assert 'data-testid="payers"' in page and 'data-testid="commit"' in page
