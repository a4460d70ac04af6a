"""The Arrow reader and writer in a child process read and write what the cursor does.

Large reads and writes of the embedded SQLite database go through `analytics/sqlite_arrow.py`
in a child process, and on PostgreSQL through ADBC's driver. Both see only committed rows, so
these tests commit (transaction=True). On PostgreSQL the child is never used, and the tests
check that.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from polars.testing import assert_frame_equal
from tests.analytics.test_current import AS_OF, build

from huitouke.analytics import current, jobs, loader, reports, results, trends
from huitouke.analytics.models import CustomerAnalytics, CustomerDue
from huitouke.sales.models import Category

HAND_WORKED = [
    (0, 400, 9, 0, ""),
    (0, 10, 23, 0, ""),
    (1, 250, 9, 2, ""),
    (1, 300, 9, 0, ""),
    (2, 5, 0, 0, "part"),
    (2, 5, 15, 1, "line"),
    (3, 20, 9, 0, "full"),
    (4, 0, 23, 3, ""),
]


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_the_child_reader_reads_what_the_cursor_reads():
    """Large reads of the embedded database go through the Arrow reader in a child process.

    Committed rows (transaction=True): the child sees only what is committed. On PostgreSQL the
    child reader is never used; large reads go through ADBC's PostgreSQL driver, which must
    give the cursor's frames value by value (and type by type).
    """
    org = build(HAND_WORKED, 90, 180, 365)
    cfg = results.Settings.of(org)
    window = [
        current._day_start(d, "Asia/Shanghai")
        for d in (dt.date(2024, 3, 2), dt.date(2024, 9, 1), dt.date(2025, 3, 2))
    ]
    queries = [
        *current._queries(org, (window[0], window[1], window[2])),
        loader._orders_query(org, None),
        loader._lines_query(org, None),
        loader._customers_query(org, None),
    ]
    by_cursor = [loader._read_cursor(q) for q in queries]
    assert loader.reads_are_large(org)
    assert loader.child_usable() == (connection.vendor == "sqlite")
    if connection.vendor == "sqlite":
        by_child = loader._read_in_child(queries)
        assert by_child is not None
        for child, cursor in zip(by_child, by_cursor, strict=True):
            assert child.height > 0
            assert_frame_equal(child, cursor)
    if connection.vendor == "postgresql":
        by_adbc = loader._read_pg_arrow(queries)
        assert by_adbc is not None
        for adbc, cursor in zip(by_adbc, by_cursor, strict=True):
            assert adbc.height > 0
            assert_frame_equal(adbc, cursor)
    assert loader.arrow_reads(org)
    for large, cursor in zip(loader.read_all(queries, large=True), by_cursor, strict=True):
        assert_frame_equal(large, cursor)
    # The whole nightly computation through the large reads equals the every-order path.
    fast = current.core_results_from_stats(org, AS_OF, cfg)
    with override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9):
        assert not loader.reads_are_large(org)
        assert_frame_equal(fast, results.core_results(loader.load_frames(org), AS_OF, cfg))
        assert_frame_equal(fast, current.core_results_from_stats(org, AS_OF, cfg))


@pytest.mark.django_db(transaction=True)
def test_the_large_read_of_the_frames_gives_the_cursors_frames():
    """load_frames through the Arrow reader (on SQLite the lines in two halves of their ids,
    on PostgreSQL the lines and orders in two halves of the orders' ids, read two at a time)
    gives the cursor's four frames, value by value and type by type."""
    org = build(HAND_WORKED, 90, 180, 365)
    with override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9):
        by_cursor = loader.load_frames(org)
    with override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0):
        assert loader.arrow_reads(org)
        halves = loader._line_halves(True)
        order_halves = loader._order_halves(True)
        large = loader.load_frames(org)
    if connection.vendor == "sqlite":
        assert len(halves) == 2 and halves[0][1] == halves[1][0]  # type: ignore[index]
        assert order_halves == [None]
    else:
        assert halves == [None]
        assert len(order_halves) == 2 and order_halves[0][1] == order_halves[1][0]  # type: ignore[index]
        # Each half of the orders holds some of the counted orders.
        for lo, hi in order_halves:  # type: ignore[misc]
            assert large.orders.filter(pl.col("order_id").is_between(lo, hi - 1)).height > 0
    assert by_cursor.lines.height > 0
    for name in ("customers", "orders", "lines", "category_cycles"):
        assert_frame_equal(getattr(large, name), getattr(by_cursor, name))


@pytest.mark.django_db(transaction=True)
def test_the_trends_read_the_same_order_extras_by_the_arrow_reader():
    """The dashboard trends' seller and paid amount per order: the large read (child process
    on SQLite, ADBC on PostgreSQL) gives the cursor's frame, and the same reports."""
    org = build(HAND_WORKED, 90, 180, 365)
    since = dt.date(2023, 1, 1)
    by_cursor = trends._order_extras(org.pk, since, large=False)
    assert by_cursor.height > 0
    with override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0):
        assert loader.arrow_reads(org)
        assert_frame_equal(trends._order_extras(org.pk, since, large=True), by_cursor)
        frames = loader.load_frames(org)
        large = trends.trend_reports(frames, AS_OF, org.pk, [], [])
    with override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9):
        assert trends.trend_reports(frames, AS_OF, org.pk, [], []) == large


@pytest.mark.django_db(transaction=True)
def test_a_failing_child_read_falls_back_to_the_cursor(caplog, monkeypatch):
    org = build(HAND_WORKED[:2], 90, 180, 365)
    good = loader._customers_query(org, None)
    ids = [c.pk for c in org.customers.order_by("pk")]
    # A value that is not a number cannot take the frame's integer type.
    bad = ("SELECT 'x' FROM customers_customer", [], [("customer_id", pl.Int64())])
    if connection.vendor != "sqlite":
        assert not loader.child_usable()
        assert loader._read_pg_arrow([good, bad]) is None
        assert "Arrow reader failed" in caplog.text
        # SQL the server refuses: the cursor's error, not the Arrow reader's, reaches the caller.
        broken = ("SELECT no_such_column FROM customers_customer", [], [("x", pl.Int64())])
        assert loader._read_pg_arrow([broken]) is None
        assert loader.read_all([good], large=True)[0]["customer_id"].to_list() == ids
        return
    assert loader._read_in_child([good, bad]) is None
    assert "Arrow reader failed" in caplog.text
    # A child that cannot start: the same rows come through the cursor.
    monkeypatch.setattr(loader.sys, "executable", "/nonexistent/python")
    read = loader.read_all([good], large=True)
    assert read[0]["customer_id"].to_list() == ids
    assert caplog.text.count("Arrow reader failed") == 2


def test_no_child_reads_inside_a_transaction(db):
    # pytest-django's `db` runs each test in a transaction the child could not see into, nor
    # another PostgreSQL connection.
    assert not loader.child_usable()
    assert not loader._pg_arrow_usable()


def _stored(model, order_by: str, leave_out: tuple[str, ...] = ("id",)) -> list[tuple]:
    """Every stored value of a table with its SQLite storage class, in a fixed order."""
    columns = [f.column for f in model._meta.concrete_fields if f.name not in leave_out]
    kind = "typeof({})" if connection.vendor == "sqlite" else "pg_typeof({})::text"
    select = ", ".join(f"{c}, {kind.format(c)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {model._meta.db_table} ORDER BY {order_by}")
        return cursor.fetchall()


def _stored_rows() -> list[tuple]:
    return _stored(CustomerAnalytics, "customer_id", ("id", "updated_at"))


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_the_child_writer_stores_what_the_cursor_stores(monkeypatch):
    if connection.vendor != "sqlite":
        assert not loader.child_usable()
        return
    org = build(HAND_WORKED, 90, 180, 365)
    cfg = results.Settings.of(org)
    core = current.core_results_from_stats(org, AS_OF, cfg)
    due = pl.DataFrame(
        {
            "customer_id": [core["customer_id"][0]] * 2,
            "category_id": [9, 3],
            "due_now": [True, True],
        }
    )
    predictions = core.select(
        "customer_id",
        p_alive=pl.Series([0.5, float("nan"), None, 1.0, 0.25, 0.75][: core.height]),
        expected_orders_90d=pl.lit(1.25),
        p_order_90d=pl.lit(float("inf")),
        expected_aov=pl.Series([12.345, 0.005, None, -1.0, 1e7, 2.5][: core.height]),
        predicted_clv=pl.lit(99.999),
        clv_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        clv_if_alive=pl.lit(float("-inf")),
    )
    table = results.customer_results(core, due, predictions)
    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9, ANALYTICS_COPY_MIN_CUSTOMERS=10**9
    ):
        jobs._write_customers(org, AS_OF, table)
    by_cursor = _stored_rows()
    assert len(by_cursor) == core.height
    CustomerAnalytics.objects.all().delete()

    def no_cursor(*args):
        raise AssertionError("the rows should have gone through the child")

    monkeypatch.setattr(jobs, "_analytics_rows", no_cursor)
    jobs._write_customers(org, AS_OF, table)  # inserted
    assert _stored_rows() == by_cursor
    CustomerAnalytics.objects.update(lifecycle="x", monetary=None, due_categories=[1])
    jobs._write_customers(org, AS_OF, table)  # updated on conflict
    assert _stored_rows() == by_cursor
    first = CustomerAnalytics.objects.order_by("customer_id").first()
    assert first is not None
    # Hand-known: her two due categories sorted, infinite forecasts stored as empty.
    assert (first.due_categories, first.p_order_90d, first.clv_if_alive) == ([3, 9], None, None)
    assert str(first.predicted_clv) == "100.00"


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_the_child_writer_keeps_foreign_keys(caplog):
    """A row for a customer who no longer exists is refused, as the cursor refuses it."""
    if connection.vendor != "sqlite":
        assert not loader.child_usable()
        return
    org = build(HAND_WORKED[:2], 90, 180, 365)
    core = current.core_results_from_stats(org, AS_OF, results.Settings.of(org))
    empty_due = pl.DataFrame(
        schema={"customer_id": pl.Int64, "category_id": pl.Int64, "due_now": pl.Boolean}
    )
    table = results.customer_results(core, empty_due, None)
    gone = table.head(1).with_columns(customer_id=pl.lit(10**9, pl.Int64))
    with pytest.raises(IntegrityError):
        jobs._write_customers(org, AS_OF, pl.concat([table, gone]))
    assert "Arrow writer failed" in caplog.text
    assert not CustomerAnalytics.objects.filter(customer_id=10**9).exists()


def _stored_due() -> list[tuple]:
    return _stored(CustomerDue, "customer_id, category_id")


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_the_child_replaces_the_due_rows_as_the_cursor_does():
    if connection.vendor != "sqlite":
        assert not loader.child_usable()
        return
    org = build(HAND_WORKED, 90, 180, 365)
    frames = loader.load_frames(org)
    _, category_stats = reports.cycles_report(frames, AS_OF)
    today = results.due_rows(frames, AS_OF, category_stats)
    assert today.height > 0
    # Yesterday: other values for today's rows, and a row that is not due any more.
    other = Category.objects.filter(organisation=org).exclude(pk=today["category_id"][0]).first()
    assert other is not None
    yesterday = pl.concat(
        [
            today.with_columns(
                last_purchase_date=pl.col("last_purchase_date") - pl.duration(days=1),
                due_now=False,
            ),
            today.head(1).with_columns(category_id=pl.lit(other.pk, pl.Int64)),
        ]
    )
    cursor_only = override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9, ANALYTICS_COPY_MIN_CUSTOMERS=10**9
    )
    with cursor_only:
        jobs._write_due(org, AS_OF, today)
    by_cursor = _stored_due()
    with cursor_only:
        jobs._write_due(org, AS_OF, yesterday)
    assert _stored_due() != by_cursor
    jobs._write_due(org, AS_OF, today)  # by the child: yesterday's rows replaced
    assert _stored_due() == by_cursor
    jobs._write_due(org, AS_OF, today.clear())  # nothing due any more
    assert _stored_due() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["cursor", "child"])
def test_a_second_write_of_the_same_results_rewrites_only_the_changed_rows(path):
    """Stored rows equal to the new results (updated_at aside) are left alone, on both paths
    and both databases; a row that differs is rewritten whole and gets a new updated_at."""
    threshold = 0 if path == "child" else 10**9
    org = build(HAND_WORKED, 90, 180, 365)
    core = current.core_results_from_stats(org, AS_OF, results.Settings.of(org))
    due = pl.DataFrame(
        {"customer_id": [core["customer_id"][0]], "category_id": [9], "due_now": [True]}
    )
    predictions = core.select(
        "customer_id",
        p_alive=pl.lit(0.5),
        expected_orders_90d=pl.lit(None, pl.Float64),
        p_order_90d=pl.lit(0.25),
        expected_aov=pl.lit(12.345),
        predicted_clv=pl.lit(99.999),
        clv_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        clv_if_alive=pl.lit(None, pl.Float64),
    )
    table = results.customer_results(core, due, predictions)
    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=threshold, ANALYTICS_COPY_MIN_CUSTOMERS=threshold
    ):
        assert loader.child_io(org) == (path == "child" and connection.vendor == "sqlite")
        jobs._write_customers(org, AS_OF, table)
        expected = _stored_rows()
        old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        CustomerAnalytics.objects.update(updated_at=old)
        changed = int(core["customer_id"][1])
        CustomerAnalytics.objects.filter(customer_id=changed).update(lifecycle="x", monetary=None)
        jobs._write_customers(org, AS_OF, table)
        assert _stored_rows() == expected
        stamps = dict(CustomerAnalytics.objects.values_list("customer_id", "updated_at"))
        assert {c for c, at in stamps.items() if at != old} == {changed}
        # Another day: as_of differs on every row, so every row is written.
        jobs._write_customers(org, AS_OF + dt.timedelta(days=1), table)
        assert not CustomerAnalytics.objects.filter(updated_at=old).exists()


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_the_copy_writer_stores_what_the_cursor_stores(monkeypatch, caplog):
    """On PostgreSQL a large shop's customer and due rows go by COPY into a temporary table
    and one upsert: the same values and types as the cursor's executemany, inserted, updated
    on conflict, and due rows replaced."""
    org = build(HAND_WORKED, 90, 180, 365)
    if connection.vendor != "postgresql":
        assert jobs._bulk_writes(org) == loader.child_io(org)
        return
    cfg = results.Settings.of(org)
    core = current.core_results_from_stats(org, AS_OF, cfg)
    due = pl.DataFrame(
        {
            "customer_id": [core["customer_id"][0]] * 2,
            "category_id": [9, 3],
            "due_now": [True, True],
        }
    )
    predictions = core.select(
        "customer_id",
        p_alive=pl.Series([0.5, float("nan"), None, 1.0, 0.25, 0.75][: core.height]),
        expected_orders_90d=pl.lit(1.0000000000000002),
        p_order_90d=pl.lit(float("inf")),
        expected_aov=pl.Series([12.345, 0.005, None, -1.0, 1e7, 2.5][: core.height]),
        predicted_clv=pl.lit(99.999),
        clv_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        clv_if_alive=pl.lit(float("-inf")),
    )
    table = results.customer_results(core, due, predictions)
    assert jobs._bulk_writes(org)
    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9, ANALYTICS_COPY_MIN_CUSTOMERS=10**9
    ):
        assert not jobs._bulk_writes(org)
        jobs._write_customers(org, AS_OF, table)
    by_cursor = _stored_rows()
    assert len(by_cursor) == core.height
    CustomerAnalytics.objects.all().delete()

    def no_cursor(*args):
        raise AssertionError("the rows should have gone through COPY")

    monkeypatch.setattr(jobs, "_analytics_rows", no_cursor)
    jobs._write_customers(org, AS_OF, table)  # inserted
    assert _stored_rows() == by_cursor
    CustomerAnalytics.objects.update(lifecycle="x", monetary=None, due_categories=[1])
    jobs._write_customers(org, AS_OF, table)  # updated on conflict
    assert _stored_rows() == by_cursor
    first = CustomerAnalytics.objects.order_by("customer_id").first()
    assert first is not None
    assert (first.due_categories, first.p_order_90d, first.clv_if_alive) == ([3, 9], None, None)
    assert str(first.predicted_clv) == "100.00"
    assert first.expected_orders_90d == 1.0000000000000002  # floats kept to the last bit

    frames = loader.load_frames(org)
    _, category_stats = reports.cycles_report(frames, AS_OF)
    today = results.due_rows(frames, AS_OF, category_stats)
    assert today.height > 0
    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9, ANALYTICS_COPY_MIN_CUSTOMERS=10**9
    ):
        jobs._write_due(org, AS_OF, today)
    due_by_cursor = _stored_due()
    jobs._write_due(org, AS_OF, today.with_columns(due_from_days=pl.col("due_from_days") - 1))
    assert _stored_due() != due_by_cursor
    jobs._write_due(org, AS_OF, today)  # by COPY: yesterday's rows replaced
    assert _stored_due() == due_by_cursor
    jobs._write_due(org, AS_OF, today.clear())
    assert _stored_due() == []
    assert "COPY writer failed" not in caplog.text  # no write fell back to the cursor


@pytest.mark.django_db(transaction=True)
@override_settings(ANALYTICS_CHILD_READER_MIN_CUSTOMERS=0)
def test_a_failing_copy_write_rolls_back_and_the_cursor_refuses_too(caplog):
    """A row for a customer who does not exist fails the COPY writer's upsert (nothing of it
    is kept) and then the cursor's, as on SQLite."""
    if connection.vendor != "postgresql":
        return
    org = build(HAND_WORKED[:2], 90, 180, 365)
    core = current.core_results_from_stats(org, AS_OF, results.Settings.of(org))
    empty_due = pl.DataFrame(
        schema={"customer_id": pl.Int64, "category_id": pl.Int64, "due_now": pl.Boolean}
    )
    table = results.customer_results(core, empty_due, None)
    gone = table.head(1).with_columns(customer_id=pl.lit(10**9, pl.Int64))
    with pytest.raises(IntegrityError):
        jobs._write_customers(org, AS_OF, pl.concat([table, gone]))
    assert "COPY writer failed" in caplog.text
    assert not CustomerAnalytics.objects.filter(customer_id=10**9).exists()


class _DueWrites:
    """Which CustomerDue rows a write inserts, updates or deletes: row triggers into a log
    table (AFTER triggers: on both databases an upsert whose change guard leaves the row alone
    fires none)."""

    def __enter__(self) -> _DueWrites:
        table = CustomerDue._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE due_writes (op varchar(1), customer_id bigint, category_id bigint)"
            )
            if connection.vendor == "sqlite":
                events = (("i", "INSERT", "NEW"), ("u", "UPDATE", "NEW"), ("d", "DELETE", "OLD"))
                for op, event, row in events:
                    cursor.execute(
                        f"CREATE TRIGGER due_writes_{op} AFTER {event} ON {table}"
                        f" BEGIN INSERT INTO due_writes"
                        f" VALUES ('{op}', {row}.customer_id, {row}.category_id); END"
                    )
            else:
                cursor.execute(
                    "CREATE FUNCTION due_writes_log() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF TG_OP = 'DELETE' THEN"
                    " INSERT INTO due_writes VALUES ('d', OLD.customer_id, OLD.category_id);"
                    " RETURN OLD; END IF; INSERT INTO due_writes"
                    " VALUES (lower(left(TG_OP, 1)), NEW.customer_id, NEW.category_id);"
                    " RETURN NEW; END $$"
                )
                cursor.execute(
                    f"CREATE TRIGGER due_writes AFTER INSERT OR UPDATE OR DELETE ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION due_writes_log()"
                )
        return self

    def taken(self) -> list[tuple[str, int, int]]:
        """The writes logged since the last call, sorted."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM due_writes ORDER BY op, customer_id, category_id")
            rows = [tuple(r) for r in cursor.fetchall()]
            cursor.execute("DELETE FROM due_writes")
        return rows

    def __exit__(self, *exc: object) -> None:
        table = CustomerDue._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for op in "iud":
                    cursor.execute(f"DROP TRIGGER due_writes_{op}")
            else:
                cursor.execute(f"DROP TRIGGER due_writes ON {table}")
                cursor.execute("DROP FUNCTION due_writes_log()")
            cursor.execute("DROP TABLE due_writes")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["cursor", "bulk"])
def test_the_next_nights_due_rows_rewrite_only_what_changed(path):
    """No day count or as_of is stored in a due row, so the next night's refresh leaves every
    unchanged row alone (no write at all), deletes the rows no longer due and writes only the
    new and the changed ones; the stored rows are then exactly the night's, on the cursor
    path and the bulk one (the child on SQLite, COPY on PostgreSQL)."""
    org = build(HAND_WORKED, 90, 180, 365)
    frames = loader.load_frames(org)
    _, category_stats = reports.cycles_report(frames, AS_OF)
    computed = results.due_rows(frames, AS_OF, category_stats)
    assert computed.height > 0
    # Every customer due for every category (the computed row's values): rows to compare.
    customers = pl.DataFrame({"customer_id": [c.pk for c in org.customers.order_by("pk")]})
    categories = pl.DataFrame(
        {"category_id": [c.pk for c in Category.objects.filter(organisation=org)]}
    )
    every = (
        customers.join(categories, how="cross")
        .join(computed.head(1).drop("customer_id", "category_id"), how="cross")
        .select(computed.columns)
    )
    assert every.height >= 6
    today, held_out = every.head(-1), every.tail(1)
    # The next night's rows differ in the day count only (what most rows do: docs/benchmarks.md).
    tomorrow = today.with_columns(days_since_last=pl.col("days_since_last") + 1)
    threshold = 0 if path == "bulk" else 10**9

    def key(op: str, rows: pl.DataFrame) -> tuple[str, int, int]:
        return (op, int(rows["customer_id"][0]), int(rows["category_id"][0]))

    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=threshold, ANALYTICS_COPY_MIN_CUSTOMERS=threshold
    ):
        assert jobs._bulk_writes(org) == (path == "bulk")
        jobs._write_due(org, AS_OF, today)
        first = _stored_due()
        with _DueWrites() as log:
            jobs._write_due(org, AS_OF + dt.timedelta(days=1), tomorrow)
            assert log.taken() == []  # a quiet night: nothing written
            assert _stored_due() == first
            # The night after: one row changed, one no longer due, one new.
            night = pl.concat(
                [
                    tomorrow.head(1).with_columns(due_now=~pl.col("due_now")),
                    tomorrow.slice(2),
                    held_out,
                ]
            )
            jobs._write_due(org, AS_OF + dt.timedelta(days=2), night)
            assert log.taken() == sorted(
                [key("u", tomorrow.head(1)), key("d", tomorrow.slice(1, 1)), key("i", held_out)]
            )
    after = _stored_due()
    # The same rows as a write from scratch by the cursor.
    CustomerDue.objects.all().delete()
    with override_settings(
        ANALYTICS_CHILD_READER_MIN_CUSTOMERS=10**9, ANALYTICS_COPY_MIN_CUSTOMERS=10**9
    ):
        jobs._write_due(org, AS_OF + dt.timedelta(days=2), night)
    assert _stored_due() == after
