"""Exports: the customer columns (computed ones included), orders that re-import, audit, owners only."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from tests.helpers import make_customer, make_order
from tests.imports.exporting import body, export_through_screen

from huitouke.analytics.models import CustomerAnalytics
from huitouke.audit.models import AuditEntry
from huitouke.customers.models import Customer
from huitouke.imports.actions import do_commit_import
from huitouke.imports.exports import ExportError, do_export
from huitouke.imports.models import ExportJob
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db

REQUIRED = [
    "external_id",
    "name",
    "phone",
    "lifecycle",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "value_class",
    "orders_count",
    "net_spend",
    "first_order_at",
    "last_order_at",
    "p_alive",
    "expected_orders_90d",
    "predicted_clv",
]


def read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def placed(day: int) -> datetime:
    return timezone.make_aware(datetime(2024, 3, day, 15, 30))


def test_customer_export_has_the_contract_columns_and_computed_values(
    tmp_path, org, store1, staff_a
):
    lin = make_customer(
        org,
        name="林晓雨",
        phone="13800138000",
        external_id="M001",
        owner=staff_a,
        city="上海",
        home_store=store1,
    )
    make_order(lin, store1, unit_price="120.00", placed_at=placed(5))
    make_order(lin, store1, unit_price="80.50", placed_at=placed(9))
    make_customer(org, name="陈静", phone=None)
    CustomerAnalytics.objects.create(
        customer=lin,
        organisation=org,
        as_of=date(2024, 4, 1),
        lifecycle="active",
        r_score=5,
        f_score=3,
        m_score=4,
        rfm_segment="champions",
        value_class="A",
        p_alive=0.93,
        expected_orders_90d=1.25,
        predicted_clv=Decimal("640.00"),
    )
    path = tmp_path / "customers.csv"
    assert (
        do_export(path, kind="customers", fmt="csv", organisation=org, actor=None, lang="en") == 2
    )
    rows = read_csv(path)
    with open(path, encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    assert header[: len(REQUIRED)] == REQUIRED
    assert {"owner", "store", "tags", "city", "birthday"} <= set(header)
    by_name = {r["name"]: r for r in rows}
    got = by_name["林晓雨"]
    assert {k: got[k] for k in REQUIRED} == {
        "external_id": "M001",
        "name": "林晓雨",
        "phone": "13800138000",
        "lifecycle": "active",
        "rfm_r": "5",
        "rfm_f": "3",
        "rfm_m": "4",
        "rfm_segment": "champions",
        "value_class": "A",
        "orders_count": "2",
        "net_spend": "200.50",
        "first_order_at": "2024-03-05 15:30:00",
        "last_order_at": "2024-03-09 15:30:00",
        "p_alive": "0.93",
        "expected_orders_90d": "1.25",
        "predicted_clv": "640.00",
    }
    assert (got["owner"], got["store"], got["city"]) == ("小美", "万达店", "上海")
    # Not computed yet: the analytics columns stay empty.
    empty = by_name["陈静"]
    assert [empty[k] for k in ("lifecycle", "rfm_r", "p_alive", "predicted_clv")] == [
        "",
        "",
        "",
        "",
    ]
    assert empty["orders_count"] == "0"
    entry = AuditEntry.objects.get(action="export")
    assert entry.detail == {
        "kind": "customers",
        "format": "csv",
        "lang": "en",
        "form": "machine",
        "rows": 2,
        "segment": None,
        "filters": {},
        "what": "Customers, CSV, machine-readable (English codes), 2 rows",
    }


def test_an_orders_export_reimports_as_the_same_orders(
    tmp_path, org, store1, other_org, other_store
):
    lin = make_customer(org, name="林晓雨", phone="13800138000")
    make_order(lin, store1, quantity=3, unit_price="33.34", placed_at=placed(5), discount="10.02")
    make_order(make_customer(org, name="陈静"), store1, placed_at=placed(6))
    path = tmp_path / "orders.xlsx"
    do_export(path, kind="orders", fmt="xlsx", organisation=org, actor=None)
    sheet = load_workbook(path).active
    assert next(sheet.iter_rows(values_only=True))[:4] == (
        "external_id",
        "placed_at",
        "customer_external_id",
        "customer_name",
    )
    summary = do_commit_import(
        path, organisation=other_org, store=other_store, kind="orders", actor=None
    )
    assert (summary.created, summary.errors) == (2, [])
    for original in Order.objects.filter(organisation=org):
        copy = Order.objects.get(organisation=other_org, customer__name=original.customer.name)
        assert (copy.net_paid, copy.gross_amount, copy.placed_at) == (
            original.net_paid,
            original.gross_amount,
            original.placed_at,
        )
    assert Customer.objects.get(organisation=other_org, name="林晓雨").stats.net_spend == Decimal(
        "90.00"
    )


def test_only_owners_may_export_and_every_export_is_audited(
    client, owner, manager, staff_a, org, store1, huey_immediate
):
    make_customer(org, name="林晓雨", phone="13800138000")
    for user in (manager, staff_a):
        client.force_login(user)
        for url in (
            reverse("imports:export", args=["customers", "csv"]),
            reverse("imports:export_page"),
        ):
            assert client.post(url).status_code == 403
            assert client.get(url).status_code == 403
    assert not AuditEntry.objects.filter(action="export").exists()
    assert not ExportJob.objects.exists()
    client.force_login(owner)
    response, job = export_through_screen(client, "customers", "xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="customers-{job.pk}.xlsx"'
    )
    rows = list(load_workbook(io.BytesIO(body(response))).active.iter_rows(values_only=True))
    assert rows[1][1] == "林晓雨"
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == owner and entry.detail["rows"] == 1
    assert entry.detail["job"] == job.pk and job.what == entry.object_repr
    assert client.post(reverse("imports:export", args=["staff", "csv"])).status_code == 404


def test_an_unknown_segment_is_refused_clearly(tmp_path, org):
    with pytest.raises(ExportError, match="segment"):
        do_export(
            tmp_path / "s.csv",
            kind="customers",
            fmt="csv",
            organisation=org,
            actor=None,
            segment=999,
        )
    assert not AuditEntry.objects.filter(action="export").exists()
