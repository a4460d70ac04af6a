"""Reading an organisation's customers, orders and lines from the database into analytics frames.

Each frame is one SQL query over the columns it needs, read straight into Polars (no model
instances). Only counted orders are read: paid, with refunds already subtracted from the
money. Order times become local calendar dates in the organisation's time zone, converted in
Polars from epoch seconds, so SQLite and PostgreSQL give identical frames.

Small reads go through Django's own connection. Large reads of the embedded SQLite database
(a shop of tens of thousands of customers and up) are done by an Arrow-native reader in a
child process (`sqlite_arrow`), several times faster than the DB-API cursor; it is not used
in-process because ADBC links its own copy of SQLite, and two copies in one process corrupt a
database (see that module and docs/benchmarks.md). Large reads of PostgreSQL go through ADBC's
PostgreSQL driver in process (`_read_pg_arrow`), about 1.7× faster than psycopg's cursor.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql
import numpy as np
import polars as pl
import psycopg
import psycopg.conninfo
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from huitouke.accounts.models import Organisation
from huitouke.analytics import sqlite_arrow
from huitouke.analytics.frames import CATEGORY_CYCLES, CUSTOMERS, LINES, ORDERS, FrameSchema
from huitouke.customers.models import Customer
from huitouke.sales.models import Category, Order, OrderLine, OrderStatus

__all__ = [
    "NO_PRODUCT",
    "Frames",
    "arrow_reads",
    "bulk_upsert",
    "bulk_writes",
    "child_io",
    "child_usable",
    "epoch_seconds",
    "load_category_cycles",
    "load_customers",
    "load_frames",
    "load_lines",
    "load_orders",
    "read_all",
    "reads_are_large",
    "unchanged_guard",
    "upsert_by_copy",
    "upsert_in_child",
    "upsert_in_child_later",
]

logger = logging.getLogger(__name__)

# Lines typed in by name have no product; they still count for their category. Product-level
# analyses (product cycles, product baskets, traffic/profit items) leave product 0 out.
NO_PRODUCT = 0
BATCH = 100_000  # rows fetched per round trip: bounds the Python objects alive at once


@dataclass(frozen=True)
class Frames:
    """The four input frames of the analytics engine for one organisation."""

    customers: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    category_cycles: pl.DataFrame


IdRange = tuple[int, int] | None  # customer ids lo <= id < hi, for chunked work


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# unixepoch() (SQLite 3.38 and later; ADBC's driver bundles a newer SQLite) parses the stored
# text in C about 2.5× faster than strftime('%s'), the same whole seconds.
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)


def epoch_seconds(column: str) -> str:
    """SQL for a stored UTC datetime as whole epoch seconds (floored, so 23:59:59.9 stays put)."""
    if connection.vendor == "postgresql":
        # date_part gives a double (EXTRACT, a numeric: about 3x the server's work per row).
        # Exact here: a time's microseconds (< 2**53) divided by 10**6 is rounded to the
        # nearest double, and 0.000001 s below a whole second is ~4 of a double's steps
        # (2.4e-7 s near 2**31 s) below it, so FLOOR never reaches the next second.
        return f"CAST(FLOOR(date_part('epoch', {column})) AS BIGINT)"
    # SQLite keeps naive UTC text. '%%' is the DB-API escape of '%'.
    return f"unixepoch({column})" if _UNIXEPOCH else f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _cents(expression: str) -> str:
    return f"CAST(ROUND(({expression}) * 100) AS BIGINT)"


Query = tuple[str, list[Any], list[tuple[str, pl.DataType]]]  # SQL, params, frame schema


def _read_cursor(query: Query) -> pl.DataFrame:
    sql, params, schema = query
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH):
            parts.append(pl.DataFrame(rows, schema=schema, orient="row"))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, how="vertical", rechunk=True)


def child_usable() -> bool:
    """Whether the child process can see what this connection sees: a SQLite file, no open
    transaction (the child sees only committed rows) and the driver installed."""
    name = str(connection.settings_dict["NAME"])
    return (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and name != ":memory:"
        and not name.startswith("file:")
        and Path(name).is_file()
        and importlib.util.find_spec("adbc_driver_sqlite") is not None
    )


def _as_schema(frame: pl.DataFrame, schema: list[tuple[str, pl.DataType]]) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(
        [
            s.cast(dtype, strict=True).alias(name)
            for s, (name, dtype) in zip(frame, schema, strict=True)
        ]
    )


def _run_child(job: dict[str, Any]) -> None:
    """Run `sqlite_arrow` on a job (on this connection's database file unless it names one)."""
    done = subprocess.run(
        [sys.executable, "-I", sqlite_arrow.__file__],
        input=json.dumps(
            job if "path" in job else {"path": str(connection.settings_dict["NAME"]), **job}
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1:] or done.returncode)


_CHILD_ERRORS = (OSError, TypeError, ValueError, RuntimeError, pl.exceptions.PolarsError)


def _read_in_child(queries: Sequence[Query]) -> list[pl.DataFrame] | None:
    """The queries' frames read by `sqlite_arrow` in a child process; None if it failed."""
    with tempfile.TemporaryDirectory(prefix="huitouke-read-") as out:
        try:
            _run_child({"queries": [[sql, params] for sql, params, _ in queries], "out": out})
            raw = [pl.read_ipc(Path(out) / f"{i}.arrow") for i in range(len(queries))]
            return [_as_schema(f, q[2]) for f, q in zip(raw, queries, strict=True)]
        except _CHILD_ERRORS as exc:
            # The cursor reads the same rows, only slower.
            logger.warning("Arrow reader failed, reading through the cursor: %s", exc)
            return None


UPSERT_SLICE = 50_000  # rows per transaction of the child's upsert: well under a second each


def unchanged_guard(table: str, columns: Sequence[str]) -> str:
    """The WHERE of an ON CONFLICT DO UPDATE that leaves a row alone when none of `columns`
    would change: a refresh that computes what is stored writes nothing for it (no page, no
    index entry rewritten). NULLs compare as values (IS NOT / IS DISTINCT FROM)."""
    qn = connection.ops.quote_name
    stored = ", ".join(f"{qn(table)}.{qn(c)}" for c in columns)
    new = ", ".join(f"excluded.{qn(c)}" for c in columns)
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f" WHERE ({stored}) {differs} ({new})"


def _upsert_sql(
    table: str, names: Sequence[str], conflict: list[str], ignore_for_change: Sequence[str] | None
) -> tuple[str, str]:
    """The column list of an upsert of `names` into `table`, and its ON CONFLICT … DO UPDATE
    clause (with `unchanged_guard` when `ignore_for_change` is given)."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in names)
    updates = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in names if c not in conflict)
    guard = ""
    if ignore_for_change is not None:
        skip = {*conflict, *ignore_for_change}
        guard = unchanged_guard(table, [c for c in names if c not in skip])
    on_conflict = f" ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET {updates}"
    return columns, on_conflict + guard


def _prune_sql(table: str, conflict: list[str], replace: tuple[str, int], rows_table: str) -> str:
    """DELETE the stored rows with replace's value whose conflict key is not in `rows_table`.

    A correlated NOT EXISTS: PostgreSQL makes it a hash anti-join; on SQLite the rows' table
    needs an index on the key first (`_rows_key_index`), without it each stored row scans
    the rows (a row-value NOT IN instead searched a list per row: 5.8 s for 116k due rows).
    The value is an integer id of ours, written as a literal.
    """
    qn = connection.ops.quote_name
    same = " AND ".join(f"r.{qn(c)} = {qn(table)}.{qn(c)}" for c in conflict)
    return (
        f"DELETE FROM {qn(table)} WHERE {qn(replace[0])} = {int(replace[1])}"
        f" AND NOT EXISTS (SELECT 1 FROM {rows_table} AS r WHERE {same})"
    )


def _rows_key_index(conflict: list[str]) -> str:
    """An index on the child's rows' conflict key, for `_prune_sql` on SQLite."""
    qn = connection.ops.quote_name
    return f"CREATE INDEX temp.huitouke_rows_key ON huitouke_rows ({', '.join(qn(c) for c in conflict)})"


def upsert_in_child(
    table: str,
    rows: pl.DataFrame,
    conflict: list[str],
    replace: tuple[str, int] | None = None,
    ignore_for_change: Sequence[str] | None = None,
) -> bool:
    """INSERT … ON CONFLICT (conflict) DO UPDATE the rows into a table, by the child process.

    `rows` holds database-ready values (what the cursor would bind: integers, text, floats,
    nulls) in columns named as the table's. Only where `child_usable()`. Each slice of rows is
    its own transaction, except with `replace` = (column, value): then the stored rows with
    that value become exactly `rows` in one transaction (`_prune_sql` deletes those whose
    conflict key `rows` lacks, then the upsert writes the rest). With `ignore_for_change`
    (columns such as a write time), a stored row is updated only when another of its columns
    differs (`unchanged_guard`). False when the child
    failed: some slices may be written, and the caller writes every row again its own way
    (an upsert, so nothing is written twice).
    """
    return upsert_in_child_later(table, rows, conflict, replace, ignore_for_change)()


def upsert_in_child_later(
    table: str,
    rows: pl.DataFrame,
    conflict: list[str],
    replace: tuple[str, int] | None = None,
    ignore_for_change: Sequence[str] | None = None,
) -> Callable[[], bool]:
    """`upsert_in_child` in two halves: the rows are written to a file for the child and its
    statements built now, in the caller's thread (they need its connection); the function
    returned runs the child and says whether it succeeded (what `upsert_in_child` returns).
    It touches no connection, so another thread may run it while this one computes; it must
    be run once (it removes the rows' file).
    """
    qn = connection.ops.quote_name
    columns, on_conflict = _upsert_sql(table, rows.columns, conflict, ignore_for_change)
    upsert = (
        f"INSERT INTO {qn(table)} ({columns}) SELECT {columns} FROM temp.huitouke_rows"
        f" WHERE rowid > ? AND rowid <= ?{on_conflict}"
    )
    delete = None
    if replace is not None:
        delete = [
            _rows_key_index(conflict),
            _prune_sql(table, conflict, replace, "temp.huitouke_rows"),
        ]
    job = {"path": str(connection.settings_dict["NAME"])}
    out = Path(tempfile.mkdtemp(prefix="huitouke-write-"))
    ipc = out / "rows.arrow"
    try:
        rows.write_ipc(ipc, compression="uncompressed")
        failed: BaseException | None = None
    except _CHILD_ERRORS as exc:
        failed = exc
    write = {"ipc": str(ipc), "upsert": upsert, "slice_rows": UPSERT_SLICE, "delete": delete}

    def run() -> bool:
        try:
            if failed is not None:
                raise failed
            _run_child({**job, "write": write})
            return True
        except _CHILD_ERRORS as exc:
            logger.warning("Arrow writer failed, writing through the cursor: %s", exc)
            return False
        finally:
            shutil.rmtree(out, ignore_errors=True)

    return run


COPY_ROWS = 100_000  # rows per CSV chunk sent by COPY


def upsert_by_copy(
    table: str,
    rows: pl.DataFrame,
    conflict: list[str],
    replace: tuple[str, int] | None = None,
    ignore_for_change: Sequence[str] | None = None,
) -> bool:
    """`upsert_in_child` for PostgreSQL: COPY the rows into a temporary table, then one
    INSERT … SELECT … ON CONFLICT DO UPDATE, all in one transaction (readers keep seeing the
    old rows until it commits; with `replace`, the pruned rows too). The values are sent as
    CSV text (NULL as backslash-N, so an empty string stays one); PostgreSQL parses them by the
    table's column types. False when it failed (nothing is written: the transaction rolls
    back) and the caller writes the rows its own way.
    """
    qn = connection.ops.quote_name
    columns, on_conflict = _upsert_sql(table, rows.columns, conflict, ignore_for_change)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The rows' columns with the table's types, without its constraints (an id the
            # table fills itself is not sent).
            cursor.execute(
                f"CREATE TEMPORARY TABLE huitouke_rows ON COMMIT DROP AS"
                f" SELECT {columns} FROM {qn(table)} WITH NO DATA"
            )
            copy_sql = f"COPY huitouke_rows ({columns}) FROM STDIN (FORMAT csv, NULL '\\N')"
            with cursor.cursor.copy(copy_sql) as copy:
                for offset in range(0, rows.height, COPY_ROWS):
                    part = rows.slice(offset, COPY_ROWS)
                    copy.write(part.write_csv(include_header=False, null_value="\\N"))
            if replace is not None:
                cursor.execute(_prune_sql(table, conflict, replace, "huitouke_rows"))
            cursor.execute(
                f"INSERT INTO {qn(table)} ({columns}) SELECT {columns} FROM huitouke_rows"
                + on_conflict
            )
        return True
    except (DatabaseError, psycopg.Error, pl.exceptions.PolarsError) as exc:
        logger.warning("COPY writer failed, writing through the cursor: %s", exc)
        return False


def bulk_writes(organisation: Organisation) -> bool:
    """Whether a large organisation's rows are written in bulk: by the child process on
    SQLite (`child_io`), by COPY on PostgreSQL (outside a transaction: the COPY writer's
    failure must roll back only its own)."""
    if connection.vendor == "postgresql":
        return not connection.in_atomic_block and reads_are_large(organisation)
    return child_io(organisation)


def bulk_upsert(
    table: str,
    rows: pl.DataFrame,
    conflict: list[str],
    replace: tuple[str, int] | None = None,
    ignore_for_change: Sequence[str] | None = None,
) -> bool:
    """`upsert_by_copy` on PostgreSQL, `upsert_in_child` on SQLite (see `bulk_writes`)."""
    write = upsert_by_copy if connection.vendor == "postgresql" else upsert_in_child
    return write(table, rows, conflict, replace=replace, ignore_for_change=ignore_for_change)


def reads_are_large(organisation: Organisation) -> bool:
    """Whether the organisation is big enough for the child reader to pay for its start."""
    threshold = settings.ANALYTICS_CHILD_READER_MIN_CUSTOMERS
    return Customer.objects.filter(organisation=organisation).count() >= threshold


def child_io(organisation: Organisation) -> bool:
    """Whether the organisation's large reads and writes go through the child process.

    Where it can see what this connection sees, and the organisation is big enough to pay
    for its start (the customer count is asked only then, so never on PostgreSQL).
    """
    return child_usable() and reads_are_large(organisation)


def _pg_arrow_usable() -> bool:
    """Whether ADBC's PostgreSQL driver can read what this connection sees: PostgreSQL and no
    open transaction (another connection sees only committed rows)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


PG_READERS = 2  # ADBC connections reading at once: one server process (and core) each


def _pg_frames(conninfo: str, texts: list[str], queries: Sequence[Query]) -> list[pl.DataFrame]:
    """The frames of the SQL `texts` (bound already), read by up to PG_READERS connections.

    Each connection takes the next query not yet taken, so the longest reads (given first)
    run side by side on two server processes while this process turns the first one's rows
    into Polars columns (ADBC's driver and Polars run outside the GIL).
    """
    pending = iter(range(len(texts)))
    lock = threading.Lock()

    def reader() -> list[tuple[int, pl.DataFrame]]:
        read: list[tuple[int, pl.DataFrame]] = []
        with (
            adbc_driver_postgresql.connect(conninfo) as database,
            adbc_driver_manager.AdbcConnection(database) as con,
        ):
            while True:
                with lock:
                    i = next(pending, None)
                if i is None:
                    return read
                with adbc_driver_manager.AdbcStatement(con) as statement:
                    statement.set_sql_query(texts[i])
                    stream, _ = statement.execute_query()
                    read.append((i, _as_schema(pl.DataFrame(stream), queries[i][2])))

    lanes = min(PG_READERS, len(texts))
    if lanes <= 1:
        done = reader()
    else:
        with ThreadPoolExecutor(lanes, thread_name_prefix="huitouke-pg-read") as pool:
            done = [part for lane in pool.map(lambda _: reader(), range(lanes)) for part in lane]
    return [frame for _, frame in sorted(done, key=lambda part: part[0])]


def _read_pg_arrow(queries: Sequence[Query]) -> list[pl.DataFrame] | None:
    """The queries' frames read by ADBC's PostgreSQL driver; None if it failed.

    libpq reads the rows as binary COPY straight into Arrow columns, about twice as fast as
    psycopg's cursor making a Python object of every value (docs/benchmarks.md); independent
    queries are read by two connections at once (`_pg_frames`). The driver's low-level API is
    used, as in `sqlite_arrow`: its DB-API module would import pyarrow. The parameters are
    bound by psycopg on the client (ClientCursor.mogrify quotes them), so the driver runs
    plain SQL text.
    """
    try:
        connection.ensure_connection()
        pg = connection.connection
        conninfo = psycopg.conninfo.make_conninfo(pg.info.dsn, password=pg.info.password)
        quote = psycopg.ClientCursor(pg)
        texts = []
        for sql, params, schema in queries:
            # Arrow needs distinct column names; PostgreSQL names every CAST "floor" or
            # "int8", so the frame's names are given as the subquery's column aliases.
            names = ", ".join(_q(name) for name, _ in schema)
            texts.append(quote.mogrify(f"SELECT * FROM ({sql}) AS huitouke_rows ({names})", params))
        return _pg_frames(conninfo, texts, queries)
    except (*_CHILD_ERRORS, adbc_driver_manager.Error, psycopg.Error) as exc:
        logger.warning("Arrow reader failed, reading through the cursor: %s", exc)
        return None


def arrow_reads(organisation: Organisation) -> bool:
    """Whether the organisation's large reads go through an Arrow reader.

    The child process on SQLite (`child_usable`), ADBC's driver on PostgreSQL; both only
    outside a transaction and for an organisation big enough to pay for their start.
    """
    return (child_usable() or _pg_arrow_usable()) and reads_are_large(organisation)


def read_all(queries: Sequence[Query], *, large: bool = False) -> list[pl.DataFrame]:
    """Run independent queries and return their frames.

    large: many rows are expected, so they are read by an Arrow reader where it can see the
    same rows: on SQLite in a child process, on PostgreSQL by ADBC's driver (callers pass
    `arrow_reads(organisation)`; it is checked again here, as a transaction may have opened
    since). Either falls back to the cursor if it fails.
    """
    if large and child_usable():
        frames = _read_in_child(queries)
        if frames is not None:
            return frames
    elif large and _pg_arrow_usable():
        frames = _read_pg_arrow(queries)
        if frames is not None:
            return frames
    return [_read_cursor(q) for q in queries]


def _query(
    sql: str,
    params: list[Any],
    schema: FrameSchema,
    columns: list[str],
    extra: dict[str, pl.DataType] | None = None,
) -> Query:
    """A query whose columns take the schema's (and extra) types."""
    types = {**schema.columns, "placed_epoch": pl.Int64(), **(extra or {})}
    return sql, params, [(c, types[c]) for c in columns]


def _local_dates(df: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """Replace placed_epoch with order_date, the local calendar date in `time_zone`."""
    local = (
        pl.from_epoch(pl.col("placed_epoch"), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(time_zone)
        .dt.date()
    )
    return df.with_columns(order_date=local).drop("placed_epoch")


def _range_sql(column: str, ids: IdRange, params: list[Any]) -> str:
    if ids is None:
        return ""
    params.extend(ids)
    return f" AND {column} >= %s AND {column} < %s"


def _customers_query(organisation: Organisation, ids: IdRange) -> Query:
    params: list[Any] = [organisation.pk]
    sql = (
        f"SELECT id, home_store_id, owner_id FROM {_q(Customer._meta.db_table)}"
        " WHERE organisation_id = %s AND merged_into_id IS NULL"
        + _range_sql("id", ids, params)
        + " ORDER BY id"
    )
    return _query(sql, params, CUSTOMERS, ["customer_id", "store_id", "owner_id"])


def load_customers(organisation: Organisation, ids: IdRange = None) -> pl.DataFrame:
    """customer_id, store_id (home store), owner_id of every customer not merged away."""
    return read_all([_customers_query(organisation, ids)])[0]


def _orders_query(organisation: Organisation, ids: IdRange, order_ids: IdRange = None) -> Query:
    net = "o.net_paid - o.refunded_amount"
    params: list[Any] = [organisation.pk, OrderStatus.PAID.value]
    sql = (
        f"SELECT o.customer_id, o.id, o.store_id, {epoch_seconds('o.placed_at')},"
        f" {_cents(net)}, {_cents(f'{net} - o.cost_amount + o.refunded_cost')}"
        f" FROM {_q(Order._meta.db_table)} o"
        " WHERE o.organisation_id = %s AND o.status = %s AND o.customer_id IS NOT NULL"
        + _range_sql("o.customer_id", ids, params)
        + _range_sql("o.id", order_ids, params)
    )
    columns = ["customer_id", "order_id", "store_id", "placed_epoch", "net_cents", "margin_cents"]
    return _query(sql, params, ORDERS, columns)


def _dated_orders(organisation: Organisation, raw: pl.DataFrame) -> pl.DataFrame:
    return _local_dates(raw, organisation.time_zone).select(list(ORDERS.columns))


def load_orders(organisation: Organisation, ids: IdRange = None) -> pl.DataFrame:
    """Counted orders of known customers, money net of refunds, dated locally."""
    return _dated_orders(organisation, read_all([_orders_query(organisation, ids)])[0])


def _lines_query(
    organisation: Organisation, ids: IdRange, line_ids: IdRange = None, order_ids: IdRange = None
) -> Query:
    kept = "(l.quantity - l.refunded_quantity)"
    params: list[Any] = [NO_PRODUCT, organisation.pk, OrderStatus.PAID.value]
    # Only line columns come back: customer, date and the order's net are joined from the
    # orders frame.
    sql = (
        f"SELECT l.order_id, COALESCE(l.product_id, %s), l.category_id, {kept},"
        f" {_cents(f'l.unit_price * {kept}')}, {_cents(f'l.unit_cost * {kept}')}"
        f" FROM {_q(OrderLine._meta.db_table)} l"
        f" JOIN {_q(Order._meta.db_table)} o ON o.id = l.order_id"
        " WHERE o.organisation_id = %s AND o.status = %s AND o.customer_id IS NOT NULL"
        + _range_sql("o.customer_id", ids, params)
        + _range_sql("l.id", line_ids, params)
        # Both sides of the join restricted, so each half hashes only its own orders.
        + _range_sql("o.id", order_ids, params)
        + _range_sql("l.order_id", order_ids, params)
    )
    columns = ["order_id", "product_id", "category_id", "qty", "list_cents", "cost_cents"]
    return _query(sql, params, LINES, columns, {"list_cents": pl.Int64()})


def _sorted_by_order(df: pl.DataFrame) -> pl.DataFrame:
    # Rows come in rowid order, which is order id order unless lines were added later.
    return df if df["order_id"].is_sorted() else df.sort("order_id")


def _priced_lines(raw: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """Raw lines with their order's customer and date, and their share of its net money.

    Lines and orders sorted by order id (as they are read), so a line finds its order by a
    binary search and an order's list value is the sum of its run of lines: about four times
    faster than a hash join and a window sum over a million orders. A line whose order is not
    in `orders` (paid after the orders were read) is left out, as an inner join would.
    """
    lines, keyed = _sorted_by_order(raw), _sorted_by_order(orders)
    line_ids, order_ids = lines["order_id"].to_numpy(), keyed["order_id"].to_numpy()
    at = np.minimum(np.searchsorted(order_ids, line_ids), max(len(order_ids) - 1, 0))
    found = order_ids[at] == line_ids if len(order_ids) else np.zeros(len(line_ids), bool)
    if not found.all():
        lines, at, line_ids = lines.filter(pl.Series(found)), at[found], line_ids[found]
    listed = lines["list_cents"].to_numpy()
    starts = np.flatnonzero(np.diff(line_ids, prepend=line_ids[:1] - 1))
    order_list = np.repeat(
        np.add.reduceat(listed, starts) if len(starts) else listed[:0],
        np.diff(np.append(starts, len(line_ids))),
    )
    order = keyed.select("customer_id", "order_date", "net_cents")[at]
    net = pl.col("order_net_cents")
    return (
        lines.with_columns(
            customer_id=order["customer_id"],
            order_date=order["order_date"],
            order_net_cents=order["net_cents"],
            order_list=pl.Series(order_list, dtype=pl.Int64),
        )
        .with_columns(
            net_cents=pl.when(pl.col("order_list") > 0)
            .then((pl.col("list_cents") * net / pl.col("order_list")).round(0))
            .otherwise(0)
            .cast(pl.Int64)
        )
        .select(list(LINES.columns))
    )


def load_lines(
    organisation: Organisation, ids: IdRange = None, orders: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Lines of counted orders: quantities after refunds, line money after discounts and refunds.

    What the customer finally paid for an order (net of refunds) is spread over its lines in
    proportion to their list value for the quantity kept, so discounts, coupons, points and
    money-only refunds reach the lines and the lines of an order add up to the order.
    `orders` (from load_orders) saves reading the orders again.
    """
    if orders is None:
        orders = load_orders(organisation, ids)
    return _priced_lines(read_all([_lines_query(organisation, ids)])[0], orders)


def _cycles_query(organisation: Organisation) -> Query:
    sql = (
        f"SELECT id, cycle_days FROM {_q(Category._meta.db_table)}"
        " WHERE organisation_id = %s AND cycle_days IS NOT NULL AND cycle_days > 0"
    )
    return _query(sql, [organisation.pk], CATEGORY_CYCLES, ["category_id", "cycle_days"])


def load_category_cycles(organisation: Organisation) -> pl.DataFrame:
    """category_id, cycle_days of the categories with a configured repurchase cycle."""
    return read_all([_cycles_query(organisation)])[0]


def _id_halves(table: str) -> list[IdRange]:
    """Two halves of a table's ids (two seeks of its primary key, whatever its size)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_q(table)}")
        lo, hi = cursor.fetchone()
    if lo is None:
        return [None]
    middle = (int(lo) + int(hi) + 1) // 2
    return [(int(lo), middle), (middle, int(hi) + 1)]


def _line_halves(large: bool) -> list[IdRange]:
    """The line id ranges the lines are read in: two halves of the table's ids where the
    child process reads them (two queries at a time, so the lines, the longest read, take
    both threads), otherwise one read of every id."""
    if not (large and child_usable()):
        return [None]
    return _id_halves(OrderLine._meta.db_table)


def _order_halves(large: bool) -> list[IdRange]:
    """The order id ranges the orders and lines are read in on PostgreSQL: two halves of the
    orders' ids where ADBC reads them (two connections at a time, `_pg_frames`: each half of
    the lines hashes only its half of the orders), otherwise one read of every id."""
    if not (large and _pg_arrow_usable()):
        return [None]
    return _id_halves(Order._meta.db_table)


def load_frames(organisation: Organisation, ids: IdRange = None) -> Frames:
    """All four frames of one organisation (or of the customers with ids in [lo, hi)).

    The queries are independent, so they run two at a time: on SQLite the lines in two halves
    of their ids first, then the orders, customers and cycles; on PostgreSQL the lines and
    then the orders in two halves of the orders' ids, then the customers and cycles.
    """
    large = arrow_reads(organisation)
    order_halves = _order_halves(large)
    if order_halves != [None]:
        line_queries = [_lines_query(organisation, ids, None, half) for half in order_halves]
    else:
        line_queries = [_lines_query(organisation, ids, half) for half in _line_halves(large)]
    order_queries = [_orders_query(organisation, ids, half) for half in order_halves]
    frames = read_all(
        [
            *line_queries,
            *order_queries,
            _customers_query(organisation, ids),
            _cycles_query(organisation),
        ],
        large=large,
    )
    lines = pl.concat(frames[: len(line_queries)], how="vertical")
    orders = pl.concat(frames[len(line_queries) : -2], how="vertical")
    customers, cycles = frames[-2:]
    dated = _dated_orders(organisation, orders)
    return Frames(
        customers=customers,
        orders=dated,
        lines=_priced_lines(lines, dated),
        category_cycles=cycles,
    )
