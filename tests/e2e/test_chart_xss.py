"""Stored XSS through charts: hostile names in every field that reaches a chart never run or render.

A manager can name a product, a category, a store, a staff member or a customer; the owner then
hovers the dashboard's and the staff results' charts. Tooltips must build text, not HTML from
data: no handler runs and no element the names carry ever reaches the page.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.e2e.conftest import log_in

from huitouke.accounts.models import Organisation, Store, User
from huitouke.analytics.jobs import refresh_organisation
from huitouke.customers.models import Customer
from huitouke.demo.generator import DEMO_PASSWORD, generate_demo
from huitouke.sales.models import Category, OrderLine, Product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def hostile(field: str, pk: int) -> str:
    # Both a broken-out attribute and a plain tag; the handler records which field ran. Short
    # enough for the narrowest column (a category's or a display name's 50 characters): the pk
    # in base 36 keeps names distinct in three characters up to 46,655 (PostgreSQL's ids keep
    # growing across the suite; "…>1005" was 51).
    code = field[:2]
    tail = np.base_repr(pk, 36).lower()
    value = f'"><img src=x data-xss onerror=__xss.push("{code}")>{tail}'
    assert len(value) <= 50, value
    return value


def test_hovering_every_chart_with_hostile_names_runs_no_script(page: Any) -> None:
    summary = generate_demo(customers=60, seed=3)
    org = Organisation.objects.get(pk=summary.organisation_id)
    # Test setup renames in bulk; the product's name is copied onto the order lines too.
    for model, field in (
        (Product, "name"),
        (Category, "name"),
        (Store, "name"),
        (Customer, "name"),
        (User, "display_name"),
    ):
        for obj in model.objects.all():
            model.objects.filter(pk=obj.pk).update(**{field: hostile(model.__name__, obj.pk)})
    for line in OrderLine.objects.select_related("product"):
        if line.product is not None:
            OrderLine.objects.filter(pk=line.pk).update(name=line.product.name)
    run = refresh_organisation(org)
    assert run is not None and run.status == "done"

    dialogs: list[str] = []
    errors: list[str] = []
    page.add_init_script("window.__xss = [];")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, "boss", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    hovered = 0
    for path in ("/analytics/", "/tasks/results/?start=2000-01-01&end=2100-01-01"):
        page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
        charts = page.locator("div[id$='-chart']:has(canvas)")
        assert charts.count() >= (5 if path == "/analytics/" else 1), path
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            box = chart.bounding_box()
            assert box is not None
            # A grid of points over the whole chart reaches every bar, cell and dot.
            for gx in range(1, 16):
                for gy in range(1, 10):
                    page.mouse.move(
                        box["x"] + box["width"] * gx / 16, box["y"] + box["height"] * gy / 10
                    )
            hovered += 1
            page.wait_for_timeout(100)
        assert page.evaluate("window.__xss") == [], path
        assert page.locator("img[data-xss]").count() == 0, path
    # The tooltips did show the names, as text.
    assert hovered >= 6
    assert dialogs == [] and errors == []
