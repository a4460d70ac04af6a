"""Issue 18: exports run in the worker, not in the request (gunicorn's 30 s killed large ones).

The screen queues an ExportJob through core.tasks.enqueue_on_commit; the worker (Huey, run
in-process here by huey_immediate: the same task and the same code path as the consumer) writes
the file with its creator's scope, phone rule and language into the data dir, and only its
creator may download it. The daily clean-up removes old files.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from tests.helpers import make_customer, make_order, make_user
from tests.imports.exporting import body, export_through_screen

from huitouke.accounts.models import Role
from huitouke.audit.models import AuditEntry
from huitouke.imports import exports
from huitouke.imports.export_jobs import do_remove_old_exports, do_request_export, run_export_job
from huitouke.imports.exports import do_export
from huitouke.imports.models import ExportJob, ExportStatus, exports_dir
from huitouke.segments.actions import do_save_segment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("huey_immediate")]


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    return tmp_path


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_screen_queues_and_the_worker_writes_the_file_with_progress_and_audit(
    owner: Any, org: Any, store1: Any, data_dir: Any
) -> None:
    names = {make_customer(org, name=f"顾客{i}").name for i in range(7)}
    response, job = export_through_screen(logged_in(owner), "customers", "csv", lang="en")
    rows = list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"), newline="")))
    assert {r["name"] for r in rows} == names
    assert job.status == ExportStatus.DONE and job.created_by == owner
    assert (job.row_count, job.progress_done, job.progress_total) == (7, 7, 7)
    # The file lives in the data dir's exports folder, under a name nobody can guess.
    assert job.path is not None and job.path.parent == data_dir / "exports"
    assert job.path.stat().st_size == job.size and str(job.pk) in job.path.name
    assert not list((data_dir / "exports").glob("*.part"))
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.detail["job"], entry.detail["rows"]) == (owner, job.pk, 7)
    assert job.what == entry.object_repr and "7" in job.what
    # The job page shows what was exported and the download link; the list shows the job.
    page = logged_in(owner).get(reverse("imports:export_job", args=[job.pk])).content.decode()
    assert job.what in page and reverse("imports:export_download", args=[job.pk]) in page
    listing = logged_in(owner).get(reverse("imports:export_page")).content.decode()
    assert reverse("imports:export_job", args=[job.pk]) in listing


def test_progress_is_reported_while_the_rows_are_written(
    org: Any, owner: Any, store1: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    for i in range(5):
        make_customer(org, name=f"顾客{i}")
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    seen: list[tuple[int, int]] = []
    count = do_export(
        tmp_path / "c.csv",
        kind="customers",
        fmt="csv",
        organisation=org,
        actor=owner,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert count == 5 and seen == [(2, 5), (4, 5), (5, 5)]


def test_orders_export_runs_in_the_worker_too(owner: Any, org: Any, store1: Any) -> None:
    her = make_customer(org, name="林晓雨")
    make_order(her, store1, unit_price="90.00")
    make_order(her, store1, unit_price="30.00")
    response, job = export_through_screen(logged_in(owner), "orders", "xlsx")
    sheet = load_workbook(io.BytesIO(body(response))).active
    header, *data = list(sheet.iter_rows(values_only=True))
    assert len(data) == job.row_count == job.progress_total
    assert {r[header.index("customer_name")] for r in data} == {"林晓雨"}
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="orders-{job.pk}.xlsx"'
    )


def test_the_export_is_written_in_the_language_its_creator_used(
    owner: Any, org: Any, store1: Any
) -> None:
    make_customer(org, name="林晓雨")
    response, job = export_through_screen(logged_in(owner), "customers", "csv", language="en")
    header = next(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert job.language == "en" and "Mobile" in header and "手机" not in "".join(header)
    response, job = export_through_screen(logged_in(owner), "customers", "csv", language="zh-hans")
    header = next(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert job.language == "zh-hans" and "Mobile" not in header


def test_only_its_creator_may_see_or_download_an_export(
    owner: Any, manager: Any, org: Any, store1: Any, other_owner: Any
) -> None:
    make_customer(org, name="林晓雨", phone="13800138000")
    response, job = export_through_screen(logged_in(owner), "customers", "xlsx")
    assert response.status_code == 200
    second_owner = make_user("owner2", org, Role.OWNER, store1)
    urls = [
        reverse("imports:export_job", args=[job.pk]),
        reverse("imports:export_status", args=[job.pk]),
        reverse("imports:export_download", args=[job.pk]),
    ]
    for url in urls:
        # Another owner of the same shop, and another shop's owner: as if the job did not exist.
        assert logged_in(second_owner).get(url).status_code == 404, url
        assert logged_in(other_owner).get(url).status_code == 404, url
        assert logged_in(manager).get(url).status_code == 403, url
        assert logged_in(owner).get(url).status_code == 200, url
    mine = logged_in(second_owner).get(reverse("imports:export_page")).content.decode()
    assert reverse("imports:export_job", args=[job.pk]) not in mine
    assert AuditEntry.objects.filter(action="export").count() == 1


def test_a_creator_who_may_no_longer_export_gets_a_failed_job_and_no_file(
    owner: Any, org: Any, store1: Any, data_dir: Any
) -> None:
    make_customer(org, name="林晓雨")
    job = do_request_export(actor=owner, kind="customers", fmt="csv")  # not yet committed
    owner.role = Role.MANAGER
    owner.save(update_fields=["role"])
    done = run_export_job(job.pk)
    assert done is not None and done.status == ExportStatus.FAILED
    done.refresh_from_db()
    assert done.status == ExportStatus.FAILED and done.message and not done.file_name
    assert not AuditEntry.objects.filter(action="export").exists()
    assert not list(data_dir.glob("exports/*"))


def test_a_job_queued_twice_runs_once(owner: Any, org: Any, store1: Any) -> None:
    make_customer(org, name="林晓雨")
    job = do_request_export(actor=owner, kind="customers", fmt="csv")
    assert run_export_job(job.pk) is not None
    assert run_export_job(job.pk) is None
    assert AuditEntry.objects.filter(action="export").count() == 1


def test_an_export_that_cannot_be_made_says_why_on_its_page(
    owner: Any, org: Any, store1: Any
) -> None:
    client = logged_in(owner)
    with TestCase.captureOnCommitCallbacks(execute=True):
        asked = client.post(reverse("imports:export", args=["customers", "csv"]), {"segment": 999})
    job = ExportJob.objects.get()
    assert asked["Location"] == reverse("imports:export_job", args=[job.pk])
    assert job.status == ExportStatus.FAILED and "999" in job.message
    page = client.get(asked["Location"]).content.decode()
    assert "999" in page and reverse("imports:export_download", args=[job.pk]) not in page
    assert client.get(reverse("imports:export_download", args=[job.pk])).status_code == 404
    # Orders by segment are refused before anything is queued.
    before = ExportJob.objects.count()
    refused = client.post(reverse("imports:export", args=["orders", "csv"]), {"segment": 1})
    assert refused.status_code == 302 and ExportJob.objects.count() == before


def test_a_segment_export_from_the_segment_page(owner: Any, org: Any, store1: Any) -> None:
    make_customer(org, name="上海客", city="上海")
    make_customer(org, name="北京客", city="北京")
    segment = do_save_segment(
        organisation=org,
        actor=None,
        name="上海的客人",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "city", "op": "eq", "value": "上海"}],
        },
    )
    client = logged_in(owner)
    detail = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    link = f"/imports/export/?segment={segment.pk}"
    assert link in detail
    screen = client.get(link)
    assert screen.status_code == 200
    assert f'<option value="{segment.pk}" selected>' in screen.content.decode()
    response, job = export_through_screen(client, "customers", "csv", lang="en", segment=segment.pk)
    rows = list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"), newline="")))
    assert [r["name"] for r in rows] == ["上海客"]
    assert job.segment_id == segment.pk and "上海的客人" in job.what


def test_old_exports_are_removed_by_the_daily_clean_up(
    owner: Any, org: Any, store1: Any, settings: Any, data_dir: Any
) -> None:
    settings.EXPORT_KEEP_DAYS = 3
    make_customer(org, name="林晓雨")
    _response, old = export_through_screen(logged_in(owner), "customers", "csv")
    _response, new = export_through_screen(logged_in(owner), "customers", "csv")
    ExportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=4))
    stray = exports_dir() / "export-0-left-behind.csv"
    stray.write_text("x")
    week_ago = time.time() - 7 * 86400
    os.utime(stray, (week_ago, week_ago))
    assert old.path is not None and old.path.exists()
    assert do_remove_old_exports() == 2
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == ExportStatus.EXPIRED and not old.file_name
    assert new.status == ExportStatus.DONE and new.path is not None and new.path.exists()
    assert not stray.exists()
    client = logged_in(owner)
    assert client.get(reverse("imports:export_download", args=[old.pk])).status_code == 404
    assert client.get(reverse("imports:export_job", args=[old.pk])).status_code == 200
    assert client.get(reverse("imports:export_download", args=[new.pk])).status_code == 200


def test_a_get_on_the_old_export_address_leads_to_the_screen(owner: Any) -> None:
    client = logged_in(owner)
    response = client.get(reverse("imports:export", args=["customers", "xlsx"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:export_page")
    assert not ExportJob.objects.exists()
