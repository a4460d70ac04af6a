"""The benchmarks' command lines stay usable: --help answers and documents the quick modes; the
many-shops bench runs at a tiny size on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from huitouke.accounts.models import Organisation
from huitouke.analytics.models import RefreshRun
from huitouke.customers.models import CustomerStats
from huitouke.sales.stats import STATS_FIELDS, rebuild_stats
from tests.ops.conftest import pg_url

ROOT = Path(__file__).resolve().parents[2]


def _help(script: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cluster_help_documents_the_short_run_and_the_automation_checks() -> None:
    text = _help("cluster.py")
    assert "--short" in text and "--drain" in text
    assert "no SMS accepted twice" in text and "exits 1" in text


def test_wecom_and_order_path_help() -> None:
    assert "--profile" in _help("wecom.py")
    assert "--database-url" in _help("order_path.py")


def test_tenants_help_documents_the_sizes_and_the_target() -> None:
    text = _help("tenants.py")
    assert "--orgs" in text and "--customers-per-org" in text and "--orders-per-customer" in text
    assert "1.6x" in text and "Exits 1" in text
    assert "--workers" in text and "2-worker pass" in text


@pytest.mark.django_db(transaction=True)
def test_tenants_tiny_run_refreshes_every_shop_once_from_stats_as_the_project_keeps_them(
    tmp_path: Path,
) -> None:
    """6 shops × 5 customers, by 1 and 2 workers: exits 0 with both checks ok; each shop has
    one finished run, from the stats path; the stats the bench filled in SQL are the ones
    `rebuild_stats` computes from its orders."""
    if connection.vendor != "postgresql":
        pytest.skip("the many-shops bench runs on PostgreSQL only")
    env = {
        **os.environ,
        "DATABASE_URL": pg_url(connection.settings_dict),
        "HUITOUKE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT / "src"),
    }
    sizes = ["--orgs", "6", "--customers-per-org", "5", "--refill"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tenants.py"), *sizes],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 worker(s):" in done.stdout and "2 worker(s):" in done.stdout
    assert done.stdout.count("check ok") == 2
    assert "not checked below 100 shops" in done.stdout
    runs = RefreshRun.objects.all()
    assert sorted(runs.values_list("organisation_id", flat=True)) == list(range(1, 7))
    assert {(r.status, r.as_of, r.detail["customers_from"]) for r in runs} == {
        ("done", dt.date(2026, 6, 30), "stats")
    }
    assert sum(r.customers for r in runs) == 30
    fields = [f for f in STATS_FIELDS if f != "organisation_id"]
    filled = sorted(CustomerStats.objects.values_list(*fields))
    end = dt.datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai")) - dt.timedelta(seconds=1)
    for organisation in Organisation.objects.all():
        rebuild_stats(organisation, now=end)
    rebuilt = sorted(CustomerStats.objects.values_list(*fields))
    assert len(filled) == 30 and sum(s[3] for s in filled) > 30  # orders_count
    assert filled == rebuilt
