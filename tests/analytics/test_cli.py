"""`huitouke analytics refresh|clv`, including the paper's BG/NBD fit on CDNOW through the database."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from tests.analytics.shop import AS_OF, TZ, build_shop

from huitouke.analytics.models import CustomerAnalytics
from huitouke.customers.models import Customer
from huitouke.sales.models import Order, OrderStatus

PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
PAPER_LL = -9582.4


def _run(*args: str) -> str:
    out = StringIO()
    call_command("analytics", *args, stdout=out)
    return out.getvalue()


def _cdnow_rows() -> list[tuple[str, dt.date, Decimal]]:
    """(customer id, date, dollars) from CDNOW_sample.txt shipped in lifetimes (not copied here)."""
    import lifetimes

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_sample.txt")
    rows = []
    with open(path) as fh:
        for line in fh:
            cid, _, ymd, _, dollars = line.split()
            day = dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
            rows.append((cid, day, Decimal(dollars)))
    return rows


def test_refresh_command_prints_a_summary_and_stores_rows(org, store1, store2, staff_a, staff_b):
    build_shop(org, store1, store2, staff_a, staff_b)
    printed = json.loads(_run("refresh", "--as-of", AS_OF.isoformat(), "--org", org.name))
    assert printed["customers"] == 9 and printed["as_of"] == "2024-06-30"
    assert CustomerAnalytics.objects.filter(organisation=org, as_of=AS_OF).count() == 9


def test_refresh_command_rejects_bad_input(org):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        _run("refresh", "--as-of", "30/06/2024")
    with pytest.raises(CommandError, match="No organisation named"):
        _run("refresh", "--org", "nobody")


def test_clv_command_reproduces_the_paper_on_cdnow_loaded_into_the_database(org, store1):
    rows = _cdnow_rows()
    ids = sorted({cid for cid, _, _ in rows})
    customers = Customer.objects.bulk_create(
        [Customer(organisation=org, name=f"CDNOW {cid}", external_id=cid) for cid in ids]
    )
    by_id = {c.external_id: c.pk for c in customers}
    Order.objects.bulk_create(
        [
            Order(
                organisation=org,
                store=store1,
                customer_id=by_id[cid],
                # Noon local time: the order's local date is the transaction date.
                placed_at=dt.datetime.combine(day, dt.time(12), TZ),
                status=OrderStatus.PAID,
                gross_amount=dollars,
                net_paid=dollars,
            )
            for cid, day, dollars in rows
        ],
        batch_size=2000,
    )
    assert (len(customers), len(rows)) == (2357, 6919)
    out = _run("clv", "--calibration-end", "1997-09-30")
    params = {k: float(v) for k, v in re.findall(r"^\s+(\w+)\s*= (-?[\d.]+)$", out, re.M)}
    for name, value in PAPER.items():
        assert round(params[name], 3) == value, (name, params[name])
    assert set(params) >= {"r", "alpha", "a", "b", "p", "q", "gamma"}
    ll = float(re.search(r"BG/NBD.*?log-likelihood = (-?[\d.]+)", out, re.S).group(1))
    assert ll == pytest.approx(PAPER_LL, abs=0.05)
    # The holdout runs to the last order (1998-06-30): one row per calibration repeat count.
    assert "Holdout 1997-09-30 to 1998-06-30" in out
    table = re.findall(r"^\s+(\d\+?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert [row[0] for row in table] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(int(row[1]) for row in table) == 2357


def test_clv_command_explains_thin_data(org, store1, store2, staff_a, staff_b):
    build_shop(org, store1, store2, staff_a, staff_b)
    with pytest.raises(CommandError, match="only 3 customers have bought on two different days"):
        _run("clv", "--calibration-end", "2024-06-30")
