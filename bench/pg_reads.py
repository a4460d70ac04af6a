"""Reading analytics rows from PostgreSQL: psycopg's cursor vs ADBC's Arrow-native driver.

    python bench/pg_reads.py --sqlite DATA_DIR/huitouke.sqlite3 --database-url postgres://…

Copies the counted-order columns the nightly refresh reads (customer, time, money) of an
`analytics_data` SQLite database into a table of its own in the given PostgreSQL database
(`bench_order`, with the (organisation, placed_at) index the refresh's range read uses), then
reads the RFM look-back (one year) and every order, alternating, `--repeat` times each:

- cursor: psycopg's C cursor, `fetchmany` of 100,000 rows into a Polars frame, as
  `analytics.loader._read_cursor` does through Django's connection;
- adbc: `adbc_driver_postgresql` (libpq, COPY BINARY underneath) straight into Arrow columns.

Both frames must be equal, value by value. Prints the medians and the ratio; exits 1 when the
frames differ.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time

import adbc_driver_postgresql.dbapi as pg_adbc
import polars as pl
import psycopg

WINDOW = ("2025-06-29 16:00:00+00", "2026-06-30 16:00:00+00")  # Asia/Shanghai 2025-06-30..T
SCHEMA = [("customer_id", pl.Int64), ("placed", pl.Int64), ("net_cents", pl.Int64)]
COLUMNS = (
    "customer_id, CAST(FLOOR(EXTRACT(EPOCH FROM placed_at)) AS BIGINT),"
    " CAST(ROUND((net_paid - refunded_amount) * 100) AS BIGINT)"
)
QUERIES = {
    "look-back": f"SELECT {COLUMNS} FROM bench_order WHERE organisation_id = 1"
    f" AND status = 'paid' AND placed_at >= '{WINDOW[0]}' AND placed_at < '{WINDOW[1]}'",
    "every order": f"SELECT {COLUMNS} FROM bench_order WHERE organisation_id = 1"
    " AND status = 'paid'",
}


def copy_orders(sqlite_path: str, url: str) -> int:
    """(Re)create bench_order in PostgreSQL from the SQLite database's orders; the row count."""
    src = sqlite3.connect(sqlite_path)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS bench_order")
        con.execute(
            "CREATE TABLE bench_order (id bigint PRIMARY KEY, organisation_id int NOT NULL,"
            " customer_id bigint, status text NOT NULL, placed_at timestamptz NOT NULL,"
            " net_paid numeric(12, 2) NOT NULL, refunded_amount numeric(12, 2) NOT NULL)"
        )
        rows = src.execute(
            "SELECT id, organisation_id, customer_id, status, placed_at || '+00',"
            " CAST(net_paid AS TEXT), CAST(refunded_amount AS TEXT) FROM sales_order"
        )
        with con.cursor() as cur, cur.copy("COPY bench_order FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        con.execute("CREATE INDEX bench_order_org_time ON bench_order (organisation_id, placed_at)")
        con.execute("VACUUM ANALYZE bench_order")
        return int(con.execute("SELECT count(*) FROM bench_order").fetchone()[0])


def read_cursor(url: str, sql: str) -> pl.DataFrame:
    with psycopg.connect(url) as con, con.cursor() as cur:
        cur.execute(sql)
        parts = []
        while rows := cur.fetchmany(100_000):
            parts.append(pl.DataFrame(rows, schema=SCHEMA, orient="row"))
    return pl.concat(parts, how="vertical", rechunk=True)


def read_adbc(url: str, sql: str) -> pl.DataFrame:
    with pg_adbc.connect(url) as con, con.cursor() as cur:
        cur.execute(sql)
        frame = pl.DataFrame(cur.fetch_arrow_table())
    return frame.rename(dict(zip(frame.columns, [n for n, _ in SCHEMA], strict=True)))


def main() -> None:
    """Copy the orders, then time both readers side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    count = copy_orders(args.sqlite, args.database_url)
    print(f"copied {count:,} orders in {time.perf_counter() - start:.1f} s; load {os.getloadavg()}")
    differ = False
    for name, sql in QUERIES.items():
        runs: dict[str, list[float]] = {"cursor": [], "adbc": []}
        frames = {}
        for _ in range(args.repeat):
            for side, read in (("cursor", read_cursor), ("adbc", read_adbc)):
                start = time.perf_counter()
                frames[side] = read(args.database_url, sql)
                runs[side].append(time.perf_counter() - start)
        same = frames["cursor"].sort(pl.all()).equals(frames["adbc"].sort(pl.all()))
        differ |= not same
        cursor, adbc = statistics.median(runs["cursor"]), statistics.median(runs["adbc"])
        print(
            f"{name}: {frames['adbc'].height:,} rows; cursor {cursor:.2f} s "
            f"{[round(x, 2) for x in runs['cursor']]}, adbc {adbc:.2f} s "
            f"{[round(x, 2) for x in runs['adbc']]}; cursor / adbc {cursor / adbc:.2f}×; "
            f"frames equal: {same}"
        )
    print(f"load at the end {os.getloadavg()}")
    if differ:
        sys.exit("the two readers gave different frames")


if __name__ == "__main__":
    main()
