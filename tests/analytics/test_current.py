"""The nightly path (stats + look-back window) gives the same rows as reading every order.

Random shops are recorded through the real order and refund actions (so the stats are the ones
the product keeps), with orders near local midnight, same-day visits, partial and full
refunds, returned lines, categories whose cycle is shorter than, longer than and longer than
twice the organisation's thresholds, and look-backs shorter than a category cycle. Each shop
is then analysed both ways as of a date on or after its last order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.helpers import make_customer

from huitouke.accounts.models import Organisation, Store
from huitouke.analytics import current, loader, results
from huitouke.analytics.jobs import customer_core
from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.models import Customer
from huitouke.sales.actions import LineInput, do_record_order, do_refund_order
from huitouke.sales.models import Category, Product

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2025, 3, 1)
_names = itertools.count()

orders_strategy = st.lists(
    st.tuples(
        st.integers(0, 5),  # customer
        st.integers(0, 700),  # days before AS_OF
        st.sampled_from([0, 9, 15, 23]),  # local hour (0 and 23 straddle UTC dates)
        st.integers(0, 3),  # category: none, 30-day, 200-day, 400-day cycle
        st.sampled_from(["", "", "", "part", "full", "line"]),  # refund
    ),
    max_size=30,
)


def build(orders: list[tuple[int, int, int, int, str]], s: int, c: int, lookback: int):
    """An organisation with six customers and the given orders; returns it."""
    org = Organisation.objects.create(
        name=f"随机店{next(_names)}",
        silent_after_days=s,
        churned_after_days=c,
        rfm_lookback_days=lookback,
    )
    store = Store.objects.create(organisation=org, name="店")
    cats = [
        Category.objects.create(organisation=org, name=f"类{i}", cycle_days=cycle)
        for i, cycle in enumerate([None, 30, 200, 400])
    ]
    products = [
        Product.objects.create(
            organisation=org, name=f"品{i}", category=cat, price=Decimal("100"), cost=Decimal("40")
        )
        for i, cat in enumerate(cats)
    ]
    people = [make_customer(org, name=f"客{i}") for i in range(6)]
    for who, back, hour, cat, refund in orders:
        day = AS_OF - dt.timedelta(days=back)
        order = do_record_order(
            organisation=org,
            store=store,
            customer=people[who],
            lines=[
                LineInput(quantity=1, product=products[cat]),
                LineInput(quantity=1, product=products[(cat + 1) % 4]),
            ],
            actor=None,
            placed_at=dt.datetime.combine(day, dt.time(hour, 30), TZ),
        )
        if refund == "part":
            do_refund_order(order=order, actor=None, amount=Decimal("50"))
        elif refund == "full":
            do_refund_order(order=order, actor=None)
        elif refund == "line":
            first = order.lines.order_by("pk").first()
            assert first is not None
            do_refund_order(order=order, actor=None, lines=[(first.pk, 1)])
    return org


def both_ways(org: Organisation, as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    cfg = results.Settings.of(org)
    full = results.core_results(loader.load_frames(org), as_of, cfg)
    return current.core_results_from_stats(org, as_of, cfg), full


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=orders_strategy,
    s=st.sampled_from([30, 90, 120]),
    extra=st.sampled_from([0, 60, 150]),
    lookback=st.sampled_from([30, 150, 365]),
    later=st.integers(0, 40),
)
def test_stats_path_equals_reading_every_order(db, orders, s, extra, lookback, later):
    org = build(orders, s, s + extra, lookback)
    as_of = AS_OF + dt.timedelta(days=later)
    assert current.stats_cover(org, as_of)
    fast, full = both_ways(org, as_of)
    assert_frame_equal(fast, full, check_dtypes=False)


@pytest.mark.parametrize("dense", [True, False])
def test_hand_worked_nightly_rows(db, monkeypatch, dense):
    """A reactivated customer found by a seek, a long cycle, and same-day visits.

    dense=False: customers are found by a binary search of their ids instead of array
    indexing (what happens when an organisation's customer ids are far apart).
    """
    if not dense:
        monkeypatch.setattr(current, "_DENSE_SLACK", -(10**12))
    orders = [
        (0, 400, 9, 0, ""),  # A: previous visit long before the look-back
        (0, 10, 23, 0, ""),  # A: back 10 days ago (23:30 local is 15:30 UTC the same day)
        (1, 250, 9, 2, ""),  # B: last bought the 200-day category 250 days ago
        (1, 300, 9, 0, ""),
        (2, 5, 0, 0, ""),  # C: two orders on one day: one visit
        (2, 5, 15, 0, ""),
        (3, 20, 9, 0, "full"),  # D: her only order was refunded: potential
    ]
    org = build(orders, 90, 180, 365)
    fast, full = both_ways(org, AS_OF)
    assert_frame_equal(fast, full, check_dtypes=False)
    rows = {r["customer_id"]: r for r in fast.iter_rows(named=True)}
    a, b, c, d = (rows[k] for k in sorted(rows)[:4])
    assert (a["stage"], a["reactivated"], a["gap_before_last_days"]) == ("active", True, 390)
    # Her last visit bought the 200- and the 400-day categories (each order's second line is
    # the next category): the longer cycle sets S = 400 and C = 800, so 300 days after her
    # first order she is still new.
    assert (b["silent_after"], b["churned_after"], b["cycle_days"]) == (400, 800, 400)
    assert (b["stage"], b["threshold_source"]) == ("new", "category")
    assert (c["frequency"], c["days_since_last"], c["stage"]) == (2, 5, "new")
    assert (d["stage"], d["value_class"]) == ("potential", "D")


def test_a_later_order_sends_the_refresh_through_every_order(db, org, store1):
    customer = make_customer(org, name="未来")
    product = Product.objects.create(organisation=org, name="品", price=Decimal("10"))
    do_record_order(
        organisation=org,
        store=store1,
        customer=customer,
        lines=[LineInput(quantity=1, product=product)],
        actor=None,
        placed_at=dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(0, 10), TZ),
    )
    assert not current.stats_cover(org, AS_OF)
    assert current.stats_cover(org, AS_OF + dt.timedelta(days=1))
    core, source = customer_core(org, AS_OF)
    assert source == "orders"
    assert core.row(0, named=True)["stage"] == "potential"


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"],
)
def test_local_days_by_the_hour_table_equal_converting_each_instant(zone):
    # Lord Howe's daylight saving moves the clock by 30 minutes; Kathmandu's offset is +5:45;
    # the span also takes in each zone's historical changes, some of them not on the hour.
    rng = np.random.default_rng(7)
    narrow = rng.integers(1_700_000_000, 1_800_000_000, 20_000)
    wide = rng.integers(-1_500_000_000, 1_900_000_000, 20_000)  # under _MAX_HOURS
    for epochs in (narrow, wide):
        expected = pl.DataFrame({"s": epochs}).select(current._local_date("s", zone))["s"]
        got = pl.Series(current._local_days(epochs, zone)).cast(pl.Int32).cast(pl.Date)
        assert got.to_list() == expected.to_list()


@pytest.mark.parametrize("dense", [True, False])
def test_a_merged_customer_is_one_customer_on_both_paths(db, monkeypatch, dense):
    """After a merge her orders are the kept customer's: both paths count them once, for the
    kept customer, and leave the duplicate (and whatever stats row she keeps) out."""
    if not dense:
        monkeypatch.setattr(current, "_DENSE_SLACK", -(10**12))
    orders = [(0, 30, 9, 2, ""), (0, 5, 9, 0, ""), (1, 20, 9, 0, ""), (1, 3, 15, 2, "")]
    org = build(orders, 90, 180, 365)
    kept, duplicate = sorted(Customer.objects.filter(organisation=org), key=lambda c: c.pk)[:2]
    do_merge_customers(keep=kept, duplicate=duplicate, actor=None)
    fast, full = both_ways(org, AS_OF)
    assert_frame_equal(fast, full, check_dtypes=False)
    assert duplicate.pk not in fast["customer_id"]
    assert fast.filter(pl.col("customer_id") == kept.pk)["frequency"].to_list() == [4]
