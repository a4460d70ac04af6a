"""The analytics dashboard on demo data: its charts draw without page errors; a screenshot is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import log_in

from huitouke.accounts.models import Organisation
from huitouke.analytics.jobs import refresh_organisation
from huitouke.demo.generator import DEMO_PASSWORD, generate_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "dashboard.png"

# Chart containers the dashboard always has on demo data (two years of orders, many customers).
CHARTS = ("funnel-chart", "cohort-chart", "category-chart", "cycles-chart", "traffic-chart")


def test_dashboard_draws_its_charts_on_demo_data(page: Any) -> None:
    summary = generate_demo(customers=300, seed=1)
    run = refresh_organisation(Organisation.objects.get(pk=summary.organisation_id))
    assert run is not None and run.status == "done"

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, "boss", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(page.base_url + "/analytics/")
    page.wait_for_load_state("networkidle")
    for chart in CHARTS:
        # ECharts draws into a <canvas> it adds inside the container; no canvas = no chart.
        page.wait_for_selector(f"#{chart} canvas", state="attached")
    assert page.evaluate("typeof window.echarts") == "object"
    assert errors == []

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000  # a blank page compresses to a few kB
