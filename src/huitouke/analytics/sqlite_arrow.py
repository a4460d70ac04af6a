"""Arrow-native reads and bulk writes of the embedded SQLite database, done in a child process.

Reading millions of rows through Python's sqlite3 cursor makes a Python object of every value;
ADBC's SQLite driver reads them straight into Arrow columns, several times faster. But ADBC
links its own copy of SQLite, and two copies of SQLite in one process corrupt a database:
closing a file in one releases the POSIX locks the other holds (sqlite.org/howtocorrupt.html
§2.2.1). So the Arrow reads run in a process of their own, which is SQLite's ordinary model
of concurrency: the child opens the database file, runs the queries two at a time on its own
connections, writes each result as an Arrow IPC file and exits; the parent reads the files.
The other way round, the child upserts the rows of an IPC file the parent wrote (`_write`).

The child sees only committed rows, and commits its own, so the parent uses it only outside
a transaction (`loader.read_all`, `loader.upsert_in_child`). This file runs as a script in the
child (`python -I sqlite_arrow.py`) and imports nothing of the project, so the child starts in
a fraction of a second.
"""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BATCH_ROWS = 65_536  # rows per Arrow batch read by the driver (its default is 1,024)
THREADS = 2
# The child's connections read and write millions of rows once: a page cache of 256 MiB
# (SQLite's default is 2 MiB) keeps the B-tree pages an upsert revisits, a temporary table in
# memory spares a temporary file, and reads map the file instead of copying each page.
# synchronous=NORMAL is what Django's own connections use (settings.py: WAL, NORMAL).
CACHE_KIB = 262_144
MMAP_BYTES = 1 << 31  # the driver's SQLite caps it at just under 2 GiB
READ_PRAGMAS = (f"PRAGMA cache_size = -{CACHE_KIB}", f"PRAGMA mmap_size = {MMAP_BYTES}")
WRITE_PRAGMAS = (
    *READ_PRAGMAS,
    "PRAGMA temp_store = MEMORY",
    "PRAGMA synchronous = NORMAL",
)

_PLACEHOLDER = re.compile(r"(?<!%)%s")


def qmark(sql: str) -> str:
    """Django's "format" placeholders (%s, %% for a percent sign) as SQLite's "?"."""
    return _PLACEHOLDER.sub("?", sql).replace("%%", "%")


def _read(path: str, sql: str, params: list[Any], out: Path) -> None:
    # The driver manager's own API: its DB-API module would import pyarrow and pandas, a
    # quarter of a second of the child's start.
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite
    import polars as pl

    with adbc_driver_sqlite.connect(path) as database, adbc.AdbcConnection(database) as con:
        # The threads' connections open the file at once; one may find another building the
        # WAL index (or a writer checkpointing) and must wait rather than fail.
        _execute(con, "PRAGMA busy_timeout = 20000")
        for pragma in READ_PRAGMAS:
            _execute(con, pragma)
        with adbc.AdbcStatement(con) as statement:
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            statement.set_sql_query(sql)
            if params:
                # One row of parameters, bound by position.
                statement.bind_stream(pl.DataFrame({f"p{i}": [v] for i, v in enumerate(params)}))
            stream, _ = statement.execute_query()
            pl.DataFrame(stream).write_ipc(out, compression="uncompressed")


def _execute(con: Any, sql: str) -> None:
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(con) as statement:
        statement.set_sql_query(sql)
        statement.execute_update()


def _write(path: str, ipc: str, upsert: str, slice_rows: int, delete: list[str] | None) -> None:
    """Upsert the rows of an IPC file: into a temporary table, then in slices of slice_rows.

    `upsert` is an INSERT … SELECT … FROM temp.huitouke_rows WHERE rowid > ? AND rowid <= ?
    ON CONFLICT … statement. The temporary table is this connection's own and takes no lock on
    the database; each slice is one short IMMEDIATE transaction, so order entry waits at most
    one slice behind it. With `delete` (statements, e.g. an index on the temporary table and
    a DELETE of the stored rows it lacks), those and every slice are one transaction (the
    rows replace the ones deleted, or nothing changes).
    """
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite
    import polars as pl

    rows = pl.read_ipc(ipc)
    with adbc_driver_sqlite.connect(path) as database, adbc.AdbcConnection(database) as con:
        _execute(con, "PRAGMA busy_timeout = 20000")
        _execute(con, "PRAGMA foreign_keys = ON")  # as Django's own connections
        for pragma in WRITE_PRAGMAS:
            _execute(con, pragma)
        with adbc.AdbcStatement(con) as statement:
            statement.set_options(
                **{
                    "adbc.ingest.target_table": "huitouke_rows",
                    "adbc.ingest.mode": "adbc.ingest.mode.create",
                    "adbc.ingest.temporary": "true",
                }
            )
            statement.bind_stream(rows)
            statement.execute_update()
        slices = [
            upsert.replace("?", str(lo), 1).replace("?", str(lo + slice_rows), 1)
            for lo in range(0, rows.height, slice_rows)
        ]
        transactions = [[s] for s in slices] if delete is None else [[*delete, *slices]]
        for statements in transactions:
            _execute(con, "BEGIN IMMEDIATE")
            for sql in statements:
                _execute(con, sql)
            _execute(con, "COMMIT")


def main() -> None:
    """Child: read a job from stdin and do it.

    {"path", "queries": [[sql, params], ...], "out"}: write query i's rows to out/i.arrow.
    {"path", "write": {"ipc", "upsert", "slice_rows", "delete"}}: upsert the rows of the IPC
    file (after the delete statements, in the same transaction, when there are any).
    """
    job = json.load(sys.stdin)
    if "write" in job:
        w = job["write"]
        _write(job["path"], w["ipc"], w["upsert"], int(w["slice_rows"]), w.get("delete"))
        return
    out = Path(job["out"])
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(_read, job["path"], qmark(sql), params, out / f"{i}.arrow")
            for i, (sql, params) in enumerate(job["queries"])
        ]
        for future in futures:
            future.result()


if __name__ == "__main__":
    main()
