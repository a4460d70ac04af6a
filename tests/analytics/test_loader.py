"""The loader reads counted orders, lines and customers into the engine's frames, dated locally."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from tests.analytics.shop import TZ, at, shared_world
from tests.helpers import make_customer, make_order, make_product

from huitouke.analytics.frames import CUSTOMERS, LINES, ORDERS, validate
from huitouke.analytics.loader import NO_PRODUCT, _priced_lines, load_frames
from huitouke.customers.models import Customer
from huitouke.sales.actions import LineInput, do_record_order, do_refund_order
from huitouke.sales.models import Order, OrderLine, OrderStatus


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), shared_world() as built:
        yield built


# The personas of tests/conftest.py, taken from the shared world instead of rebuilt per test.
@pytest.fixture
def org(db, world):
    return world.org


@pytest.fixture
def store1(world):
    return world.store1


@pytest.fixture
def store2(world):
    return world.store2


@pytest.fixture
def owner(world):
    return world.owner


@pytest.fixture
def manager(world):
    return world.manager


@pytest.fixture
def staff_a(world):
    return world.staff_a


@pytest.fixture
def staff_b(world):
    return world.staff_b


@pytest.fixture
def staff_c(world):
    return world.staff_c


@pytest.fixture
def shop(world):
    return world.shop


def _by(df: pl.DataFrame, key: str) -> dict:
    return {row[key]: row for row in df.iter_rows(named=True)}


def test_frames_match_their_schemas(org, shop):
    frames = load_frames(org)
    for df, schema in (
        (frames.orders, ORDERS),
        (frames.lines, LINES),
        (frames.customers, CUSTOMERS),
    ):
        assert df.columns == list(schema.columns)
        validate(df, schema)  # raises on a wrong type or an empty required value


def test_orders_are_counted_net_of_refunds_and_dated_in_local_time(org, shop):
    c = shop.customers
    orders = load_frames(org).orders
    by_customer: dict[int, list[tuple]] = {}
    for row in orders.sort("order_id").iter_rows(named=True):
        by_customer.setdefault(row["customer_id"], []).append(
            (row["order_date"], row["net_cents"], row["margin_cents"])
        )
    # 00:30 on 1 July in Shanghai is 16:30 UTC on 30 June: the local date is what counts.
    assert by_customer[c["E"].pk] == [
        (dt.date(2024, 6, 30), 8000, 8000 - 3000),
        (dt.date(2024, 7, 1), 99900, 99900 - 3000),
    ]
    # Partial refund of 200 on a 500 order: net 300; the cost is not refunded: margin 200.
    assert by_customer[c["H"].pk] == [(dt.date(2024, 5, 31), 30000, 20000)]
    # A fully refunded order is no order at all; a customer without orders has none.
    assert c["I"].pk not in by_customer
    assert c["D"].pk not in by_customer
    assert orders.height == 11


def test_orders_agree_with_a_plain_reading_of_the_database(org, shop, store1):
    walk_in = make_order(None, store1, placed_at=at("2024-06-01"))  # no customer: left out
    frames = load_frames(org)
    expected = {}
    for o in Order.objects.filter(organisation=org, status=OrderStatus.PAID):
        if o.customer_id is None:
            continue
        net = o.net_paid - o.refunded_amount
        margin = net - o.cost_amount + o.refunded_cost
        expected[o.pk] = (
            o.customer_id,
            o.store_id,
            o.placed_at.astimezone(TZ).date(),
            int(net * 100),
            int(margin * 100),
        )
    got = {
        r["order_id"]: (
            r["customer_id"],
            r["store_id"],
            r["order_date"],
            r["net_cents"],
            r["margin_cents"],
        )
        for r in frames.orders.iter_rows(named=True)
    }
    assert got == expected
    assert walk_in.pk not in got


def test_lines_share_the_order_net_in_proportion_and_keep_unrefunded_quantities(org, store1):
    customer = make_customer(org)
    cream = make_product(org, name="面霜", price="100.00", cost="30.00")
    # 2 × 100 plus a typed-in item of 50 (no product), 50 off: net 200 of a 250 list value.
    order = do_record_order(
        organisation=org,
        store=store1,
        customer=customer,
        lines=[
            LineInput(quantity=2, product=cream),
            LineInput(quantity=1, name="小样", unit_price=Decimal("50"), unit_cost=Decimal("10")),
        ],
        actor=None,
        discount=Decimal("50"),
        placed_at=at("2024-06-01"),
    )
    # 3 × 100 with one returned: 200 left, on 2 items.
    returned = do_record_order(
        organisation=org,
        store=store1,
        customer=customer,
        lines=[LineInput(quantity=3, product=cream)],
        actor=None,
        placed_at=at("2024-06-02"),
    )
    line = OrderLine.objects.get(order=returned)
    do_refund_order(order=returned, actor=None, lines=[(line.pk, 1)])

    lines = load_frames(org).lines
    rows = sorted(
        (r["order_id"], r["product_id"], r["qty"], r["net_cents"], r["cost_cents"])
        for r in lines.iter_rows(named=True)
        if r["customer_id"] == customer.pk
    )
    assert rows == [
        (order.pk, NO_PRODUCT, 1, 4000, 1000),  # 50 × 200/250
        (order.pk, cream.pk, 2, 16000, 6000),  # 200 × 200/250
        (returned.pk, cream.pk, 2, 20000, 6000),
    ]
    # The lines of an order add up to the order.
    orders = _by(load_frames(org).orders, "order_id")
    assert orders[order.pk]["net_cents"] == 20000
    assert orders[returned.pk]["net_cents"] == 20000


def test_customers_frame_skips_merged_customers_and_other_organisations(
    org, other_org, store1, staff_a, shop
):
    kept = make_customer(org, owner=staff_a, home_store=store1)
    merged = make_customer(org)
    Customer.objects.filter(pk=merged.pk).update(merged_into=kept)
    stranger = make_customer(other_org)
    customers = load_frames(org).customers
    assert (kept.pk, store1.pk, staff_a.pk) in customers.rows()
    assert set(customers["customer_id"]) == {kept.pk} | {c.pk for c in shop.customers.values()}
    assert merged.pk not in customers["customer_id"] and stranger.pk not in customers["customer_id"]


def test_a_customer_id_range_loads_only_those_customers(org, shop):
    ids = sorted(c.pk for c in shop.customers.values())
    lo, hi = ids[2], ids[5]  # C, D, E
    frames = load_frames(org, (lo, hi))
    assert sorted(frames.customers["customer_id"]) == ids[2:5]
    assert set(frames.orders["customer_id"]) == {shop.customers["C"].pk, shop.customers["E"].pk}
    assert set(frames.lines["customer_id"]) == {shop.customers["C"].pk, shop.customers["E"].pk}


def test_category_cycles_lists_only_configured_cycles(org, shop):
    cycles = load_frames(org).category_cycles
    assert cycles.rows() == [(shop.serum.pk, 120)]


def test_lines_are_priced_as_a_join_and_window_sum_would_price_them():
    """The binary-search pricing gives what an inner join plus a per-order sum gives, for
    lines and orders out of id order and a line whose order was not read."""
    lines = pl.DataFrame(
        {
            "order_id": [7, 3, 3, 9, 7, 7, 5, 3],
            "product_id": [1, 2, 3, 1, 2, 3, 1, 1],
            "category_id": [1, 1, 2, 2, 1, 2, 1, 1],
            "qty": [1, 2, 1, 1, 3, 1, 1, 1],
            "list_cents": [1001, 250, 0, 500, 333, 667, 0, 1],
            "cost_cents": [10, 20, 30, 40, 50, 60, 70, 80],
        }
    )
    orders = pl.DataFrame(
        {
            "customer_id": [11, 12, 13],
            "order_id": [7, 3, 5],  # order 9 was not read
            "store_id": [1, 1, 1],
            "order_date": [dt.date(2026, 6, d) for d in (1, 2, 3)],
            "net_cents": [1999, 100, 500],
            "margin_cents": [0, 0, 0],
        }
    )
    joined = lines.join(orders.rename({"net_cents": "paid"}), on="order_id")
    listed = pl.col("list_cents").sum().over("order_id")
    expected = joined.with_columns(
        net_cents=pl.when(listed > 0)
        .then((pl.col("list_cents") * pl.col("paid") / listed).round(0))
        .otherwise(0)
        .cast(pl.Int64)
    ).select(list(LINES.columns))
    priced = _priced_lines(lines, orders)
    assert priced.sort(pl.all()).rows() == expected.sort(pl.all()).rows()
    # Hand-worked: order 7 (list 2001) shares 1999 as 1000 / 333 / 666; order 5 lists nothing.
    assert priced.filter(pl.col("order_id") == 7).sort("product_id")["net_cents"].to_list() == [
        1000,
        333,
        666,
    ]
    assert priced.filter(pl.col("order_id") == 5)["net_cents"].to_list() == [0]
    assert 9 not in priced["order_id"].to_list()
    assert _priced_lines(lines.clear(), orders).height == 0
    assert _priced_lines(lines, orders.clear()).height == 0


@pytest.mark.django_db
def test_epoch_seconds_floor_every_stored_time_to_its_whole_second():
    """`epoch_seconds` on the database's own stored times: whole seconds, floored (a time a
    microsecond before a second stays in the second before; before 1970 too), as Python
    computes them exactly from the same instant. SQLite's date functions keep milliseconds
    (a time within half a millisecond of the next second is counted in it), so there the
    instants are a millisecond before the second."""
    from django.db import connection

    from huitouke.analytics.loader import epoch_seconds

    utc = dt.UTC
    instants = [
        dt.datetime(2026, 6, 30, 15, 59, 59, 999_999, tzinfo=utc),
        dt.datetime(2026, 6, 30, 16, 0, 0, tzinfo=utc),
        dt.datetime(2026, 6, 30, 16, 0, 0, 1, tzinfo=utc),
        dt.datetime(2038, 1, 19, 3, 14, 7, 999_999, tzinfo=utc),
        dt.datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=utc),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=utc),
        dt.datetime(1970, 1, 1, 0, 0, 0, 500_000, tzinfo=utc),
    ]
    if connection.vendor == "sqlite":
        instants = [i.replace(microsecond=i.microsecond // 1000 * 1000) for i in instants]
    adapt = connection.ops.adapt_datetimefield_value
    cast = "CAST(%s AS TIMESTAMP WITH TIME ZONE)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        for instant in instants:
            cursor.execute(f"SELECT {epoch_seconds(cast)}", [adapt(instant)])
            epoch = instant - dt.datetime(1970, 1, 1, tzinfo=utc)
            assert cursor.fetchone()[0] == epoch // dt.timedelta(seconds=1), instant
