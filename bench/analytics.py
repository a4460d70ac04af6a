"""Time the analytics refresh against pandas, lifetimes and DuckDB on the same database.

    python bench/analytics.py [--sizes 10000,100000,1000000] [--cache DIR] [--no-full]
        [--database sqlite|postgres]
    (BENCH_REPEAT=3: runs of ours, pandas and the DuckDB query; medians are compared)

With --database postgres (DATABASE_URL=postgres://…/DB names the database, which the bench
migrates and fills): the SQLite database of each size is filled (or reused) as below, then its
shop's tables are copied into PostgreSQL with COPY (kept there for the next run of the same
size), and every side reads PostgreSQL: ours through the project's connection (ADBC reads),
the pandas script through `read_sql` on a psycopg connection to the same database.

For each size an embedded SQLite database is filled by `analytics_data.fill` (the project's
migrations, then raw inserts: N customers, about ten orders each, their lines and customer
stats); with --cache DIR the database is kept in DIR/N and reused by later runs. Then every
side runs in its own child process, so that its peak memory (ru_maxrss) is its own:

- ours: `jobs.customer_core`, what the nightly refresh computes for every customer -
  lifecycle (with per-customer category cycles), reactivated flag, RFM values, mid-rank
  scores, segments and value class - read from the database (stats plus the RFM look-back's
  orders, DESIGN §1.3) and computed in Polars. Timed from the first query to the result
  frame; writing it is part of the whole refresh below (the peers write nothing).
- pandas: a plain pandas script computing the same: `pandas.read_sql` of customers, paid
  orders, the stats' last-visit categories and the category cycles (read time included),
  then her thresholds, stage, reactivated flag (previous distinct order date), RFM over 365
  days with the mid-rank 1-5 scores, segment highs by mean, value class A-D.
- lifetimes: `summary_data_from_transaction_data` on the same orders (reading not timed).
- duckdb: the orders loaded into an in-memory DuckDB first (not timed), then one SQL query for
  days since first/last, frequency, monetary, 1-5 scores and value class: the practical limit.

The pandas side writes its per-customer results to a Parquet file and ours checks itself
against them: stage, thresholds, reactivated flag, RFM values, scores and value class must
agree for every customer.

Then, unless --no-full: the whole nightly refresh (`refresh_organisation`: customer results,
every order and line loaded, repurchase cycles and due customers, the CLV fit, every report,
and all of it written), with its per-step times, and the cohort, cycle and basket reports
timed one by one on the loaded frames. The stored results are deleted first (not timed), so
every run is a first refresh writing every row, as the next night's writes nearly every row
(the day counts change); a second refresh of the same day would write none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from analytics_data import fill

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("ours", "pandas", "lifetimes", "duckdb")
SILENT, CHURNED, LOOKBACK = 90, 180, 365
AS_OF = dt.date(2026, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")
# Issue 22's targets, at 1M customers: ours at least 12× faster than the pandas script, at most
# 1.5× the DuckDB query, and the whole nightly refresh within 30 s.
RATIO_PANDAS = 12.0
RATIO_DUCKDB = 1.5
FULL_SECONDS = 30.0
TARGET_SIZE = 1_000_000  # the targets are checked from this size on
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))  # runs of ours, pandas and the DuckDB query
# Issue 22 target 2: on PostgreSQL ours at least 10× faster than pandas' read_sql script, and
# the whole refresh within 1.5× the SQLite figure (compared by the lead across two runs).
RATIO_PANDAS_PG = 10.0
# The shop's tables the filler writes, in foreign-key order: copied into PostgreSQL.
PG_TABLES = (
    "accounts_organisation",
    "accounts_store",
    "sales_category",
    "sales_product",
    "customers_customer",
    "customers_customerstats",
    "sales_order",
    "sales_orderline",
)


def _postgres() -> bool:
    return os.environ.get("BENCH_DATABASE") == "postgres"


def _peer_connection() -> Any:
    """The pandas script's own DB-API connection to the database ours reads."""
    if _postgres():
        import psycopg

        return psycopg.connect(os.environ["DATABASE_URL"])
    from django.conf import settings

    return sqlite3.connect(str(settings.SQLITE_PATH))


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()


def _organisation() -> Any:
    from huitouke.accounts.models import Organisation

    return Organisation.objects.get()


def _read_frames(time_zone: str) -> tuple[Any, Any]:
    """Customers and counted orders (paid, net of refunds) with local order dates, via pandas."""
    import pandas as pd

    con = _peer_connection()
    customers = pd.read_sql(
        "SELECT id AS customer_id FROM customers_customer WHERE merged_into_id IS NULL", con
    )
    # PostgreSQL's numeric would come back as Decimal objects: as floats, as SQLite gives.
    net = "net_paid - refunded_amount"
    orders = pd.read_sql(
        f"SELECT customer_id, placed_at, {f'CAST({net} AS DOUBLE PRECISION)' if _postgres() else net}"
        f" AS net, CAST(ROUND(({net}) * 100) AS BIGINT) AS net_cents FROM sales_order"
        " WHERE status = 'paid' AND customer_id IS NOT NULL",
        con,
    )
    con.close()
    placed = pd.to_datetime(orders["placed_at"], utc=True, format="ISO8601")
    orders["order_date"] = placed.dt.tz_convert(time_zone).dt.tz_localize(None).dt.normalize()
    orders = orders.drop(columns="placed_at")
    return customers, orders[orders["order_date"] <= pd.Timestamp(AS_OF)]


def side_ours(out_dir: Path) -> dict[str, Any]:
    """Our customer results, timed from the first query to the frame, then checked."""
    import polars as pl

    from huitouke.analytics.jobs import customer_core

    organisation = _organisation()
    start = time.perf_counter()
    core, source = customer_core(organisation, AS_OF)
    seconds = time.perf_counter() - start
    check = _check_against_pandas(core, pl.read_parquet(out_dir / "pandas.parquet"))
    return {"seconds": seconds, "customers": core.height, "source": source, "check": check}


def _check_against_pandas(core: Any, peer: Any) -> dict[str, Any]:
    """Count the customers on which ours and the pandas script disagree."""
    import polars as pl

    both = core.join(peer, on="customer_id", how="full", coalesce=True, suffix="_pd")
    money = (pl.col("monetary_cents") / 100 - pl.col("monetary")).abs() < 0.005
    same = {
        "recency": pl.col("recency_days").eq_missing(pl.col("recency")),
        "frequency": pl.col("frequency").eq_missing(pl.col("frequency_pd")),
        "monetary": money.fill_null(pl.col("monetary").is_null()),
        "scores": pl.col("r_score").eq_missing(pl.col("r_score_pd"))
        & pl.col("f_score").eq_missing(pl.col("f_score_pd"))
        & pl.col("m_score").eq_missing(pl.col("m_score_pd")),
        "value_class": pl.col("value_class") == pl.col("value_class_pd"),
        "stage": pl.col("stage") == pl.col("stage_pd"),
        "thresholds": pl.col("silent_after").eq_missing(pl.col("silent_after_pd"))
        & pl.col("churned_after").eq_missing(pl.col("churned_after_pd"))
        | pl.col("stage").eq("potential"),
        "reactivated": pl.col("reactivated") == pl.col("reactivated_pd"),
    }
    wrong = both.select(**{k: (~v).sum() for k, v in same.items()}).row(0, named=True)
    return {
        "customers": both.height,
        "disagreements": wrong,
        "category_thresholds": int((core["threshold_source"] == "category").sum()),
        "reactivated": int(core["reactivated"].sum()),
        "stages": dict(core.group_by("stage").len().iter_rows()),
    }


def _mid_rank_score(values: Any, *, lower_is_better: bool = False) -> Any:
    """Score 1-5 from the mid-rank percentile, as DESIGN §5 defines it."""
    import numpy as np

    ranked = -values if lower_is_better else values
    lo = ranked.rank(method="min").astype(np.int64)
    hi = ranked.rank(method="max").astype(np.int64)
    return np.minimum((5 * (lo + hi - 1)) // (2 * len(values)) + 1, 5)


def side_pandas(out_dir: Path) -> dict[str, Any]:
    """A plain pandas script computing what ours computes, from the same database.

    Lifecycle with her thresholds lengthened by the longest configured cycle bought on her
    last visit (read from the stats, as ours does), the reactivated flag from her previous
    distinct order date, RFM values and mid-rank scores, segment highs by mean, value class.
    """
    import numpy as np
    import pandas as pd

    organisation = _organisation()
    start = time.perf_counter()
    customers, orders = _read_frames(organisation.time_zone)
    con = _peer_connection()
    categories = "CAST(last_order_categories AS TEXT)" if _postgres() else "last_order_categories"
    visits = pd.read_sql(
        f"SELECT customer_id, {categories} AS categories FROM customers_customerstats"
        " WHERE last_order_at IS NOT NULL",
        con,
    )
    cycles = pd.read_sql(
        "SELECT id AS category_id, cycle_days FROM sales_category WHERE cycle_days > 0", con
    )
    con.close()
    read_s = time.perf_counter() - start
    today = pd.Timestamp(AS_OF)
    days = (today - orders["order_date"]).dt.days
    orders = orders.assign(days=days)
    per = orders.groupby("customer_id").agg(since_last=("days", "min"), since_first=("days", "max"))
    # The previous distinct order date: the second most recent distinct day.
    distinct = orders[["customer_id", "days"]].drop_duplicates()
    order_of_day = distinct.groupby("customer_id")["days"].rank(method="first")
    previous = distinct[order_of_day == 2].set_index("customer_id")["days"].rename("since_previous")
    # Only cycles that can lengthen S or C change anything (DESIGN §5, docs/definitions.md).
    longer = cycles[(cycles["cycle_days"] > SILENT) | (2 * cycles["cycle_days"] > CHURNED)]
    bought = visits.assign(category_id=visits["categories"].map(json.loads)).explode("category_id")
    bought = bought.dropna(subset=["category_id"]).astype({"category_id": "int64"})
    cycle = bought.merge(longer, on="category_id").groupby("customer_id")["cycle_days"].max()
    table = customers.set_index("customer_id").join(per).join(previous).join(cycle)
    last, first = table["since_last"], table["since_first"]
    s_i = np.maximum(SILENT, table["cycle_days"].fillna(0))
    c_i = np.maximum(CHURNED, 2 * table["cycle_days"].fillna(0))
    table["silent_after"], table["churned_after"] = s_i, c_i
    table["stage"] = np.select(
        [last.isna(), first <= s_i, last <= s_i, last <= c_i],
        ["potential", "new", "active", "silent"],
        default="churned",
    )
    gap = table["since_previous"] - last
    table["reactivated"] = ((gap > c_i) & (last < s_i)).fillna(False)
    window = orders[orders["days"] < LOOKBACK]
    rfm = window.groupby("customer_id").agg(
        recency=("days", "min"), frequency=("days", "size"), monetary=("net_cents", "sum")
    )
    # Money in whole cents: float sums of yuan amounts break ties between equal spends.
    rfm["r_score"] = _mid_rank_score(rfm["recency"], lower_is_better=True)
    rfm["f_score"] = _mid_rank_score(rfm["frequency"])
    rfm["m_score"] = _mid_rank_score(rfm["monetary"])
    r = rfm["recency"] < rfm["recency"].mean()
    f = rfm["frequency"] > rfm["frequency"].mean()
    m = rfm["monetary"] > rfm["monetary"].mean()
    # DESIGN §5: A = R+M high; B = M high (R low) or R+F high (M low); C = the rest.
    rfm["value_class"] = np.select([r & m, m | (r & f)], ["A", "B"], default="C")
    rfm["monetary"] = rfm["monetary"] / 100
    table = table.join(rfm)
    table["value_class"] = table["value_class"].where(
        table["value_class"].notna(), np.where(last.isna(), "D", "C")
    )
    seconds = time.perf_counter() - start
    table.reset_index().to_parquet(out_dir / "pandas.parquet")
    return {
        "seconds": seconds,
        "read_seconds": read_s,
        "customers": len(table),
        "orders": len(orders),
    }


def side_lifetimes(out_dir: Path) -> dict[str, Any]:
    """lifetimes' RFM summary on the same orders; reading them is not timed."""
    from lifetimes.utils import summary_data_from_transaction_data

    _, orders = _read_frames(_organisation().time_zone)
    start = time.perf_counter()
    summary = summary_data_from_transaction_data(
        orders,
        "customer_id",
        "order_date",
        monetary_value_col="net",
        observation_period_end=str(AS_OF),
    )
    return {"seconds": time.perf_counter() - start, "customers": len(summary)}


DUCKDB_SQL = """
WITH per AS (
    SELECT customer_id,
           min(days) AS since_last,
           max(days) AS since_first,
           count(*) FILTER (WHERE days < $lookback) AS frequency,
           sum(net) FILTER (WHERE days < $lookback) AS monetary,
           min(days) FILTER (WHERE days < $lookback) AS recency
    FROM (SELECT customer_id, net, date_diff('day', order_date, $as_of::DATE) AS days
          FROM orders WHERE order_date <= $as_of::DATE)
    GROUP BY customer_id
), scored AS (
    SELECT *,
           ntile(5) OVER (ORDER BY recency DESC) AS r_score,
           ntile(5) OVER (ORDER BY frequency) AS f_score,
           ntile(5) OVER (ORDER BY monetary) AS m_score,
           recency < avg(recency) OVER () AS r_high,
           frequency > avg(frequency) OVER () AS f_high,
           monetary > avg(monetary) OVER () AS m_high
    FROM per WHERE frequency > 0
)
SELECT c.customer_id,
       CASE WHEN p.since_last IS NULL THEN 'potential'
            WHEN p.since_first <= $silent THEN 'new'
            WHEN p.since_last <= $silent THEN 'active'
            WHEN p.since_last <= $churned THEN 'silent'
            ELSE 'churned' END AS stage,
       s.r_score, s.f_score, s.m_score,
       CASE WHEN p.since_last IS NULL THEN 'D'
            WHEN s.customer_id IS NULL THEN 'C'
            WHEN s.r_high AND s.m_high THEN 'A'
            WHEN s.m_high OR (s.r_high AND s.f_high) THEN 'B'
            ELSE 'C' END AS value_class
FROM customers c
LEFT JOIN per p USING (customer_id)
LEFT JOIN scored s USING (customer_id)
"""


def side_duckdb(out_dir: Path) -> dict[str, Any]:
    """The same figures as one SQL query in in-memory DuckDB (loading not timed)."""
    import duckdb

    customers, orders = _read_frames(_organisation().time_zone)
    con = duckdb.connect()
    con.register("orders_df", orders)
    con.register("customers_df", customers)
    con.execute(
        "CREATE TABLE orders AS SELECT customer_id, order_date::DATE AS order_date,"
        " net::DOUBLE AS net FROM orders_df"
    )
    con.execute("CREATE TABLE customers AS SELECT * FROM customers_df")
    params = {"as_of": str(AS_OF), "silent": SILENT, "churned": CHURNED, "lookback": LOOKBACK}
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        rows = con.execute(DUCKDB_SQL, params).fetchall()
        runs.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(runs),
        "query_runs": [round(x, 3) for x in runs],
        "customers": len(rows),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


def _clear_results(organisation: Any) -> None:
    """Delete the stored customer results, due rows and reports (not timed), so that every
    run of the whole refresh is a first one that writes every row: a second refresh of the
    same day would find every row unchanged and write none (`loader.unchanged_guard`)."""
    from django.db import connection, transaction

    from huitouke.analytics.models import CustomerAnalytics, CustomerDue, Report

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (CustomerAnalytics, CustomerDue, Report):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE organisation_id = %s", [organisation.pk]
            )


def side_full(out_dir: Path) -> dict[str, Any]:
    """The whole nightly refresh, then cohort, cycle and basket reports one by one."""
    from huitouke.accounts.models import Store, User
    from huitouke.analytics import reports
    from huitouke.analytics.jobs import refresh_organisation
    from huitouke.analytics.loader import load_frames

    organisation = _organisation()
    _clear_results(organisation)
    start = time.perf_counter()
    run = refresh_organisation(organisation, AS_OF)
    seconds = time.perf_counter() - start
    assert run is not None and run.status == "done", run
    start = time.perf_counter()
    frames = load_frames(organisation)
    load_s = time.perf_counter() - start
    stores = list(Store.objects.filter(organisation=organisation).values_list("pk", flat=True))
    staff = list(User.objects.filter(organisation=organisation).values_list("pk", flat=True))
    report_s = {}
    for name, build in (
        ("cohorts", lambda: reports.cohort_reports(frames, AS_OF, stores, staff)),
        ("cycles", lambda: reports.cycles_report(frames, AS_OF)),
        ("baskets", lambda: reports.basket_report(frames, AS_OF)),
    ):
        start = time.perf_counter()
        build()
        report_s[name] = round(time.perf_counter() - start, 2)
    return {
        "seconds": seconds,
        "timings": run.detail["timings"],
        "customers_from": run.detail.get("customers_from"),
        "orders": frames.orders.height,
        "lines": frames.lines.height,
        "load_seconds": round(load_s, 2),
        "reports": report_s,
    }


RUNNERS = {
    "ours": side_ours,
    "pandas": side_pandas,
    "lifetimes": side_lifetimes,
    "duckdb": side_duckdb,
    "full": side_full,
}


def run_side(side: str, out_dir: Path) -> None:
    """Child process: run one side and print its result as JSON."""
    _setup_django()
    out = RUNNERS[side](out_dir)
    out["peak_mib"] = peak_mib()
    print("RESULT " + json.dumps(out, default=str))


def _child(args: list[str], data_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "HUITOUKE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT / "src")}
    if not _postgres():
        env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, text=True, capture_output=True, check=False
    )
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    line = next(s for s in done.stdout.splitlines() if s.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _database(n: int, cache: Path | None, scratch: Path) -> Path:
    """A data dir holding n customers: from the cache, or filled now (and cached)."""
    target = (cache / str(n)) if cache else scratch / str(n)
    if cache and (target / "huitouke.sqlite3").exists() and (target / "ready").exists():
        print(f"  reusing {target}", flush=True)
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    start = time.perf_counter()
    # In a child process: Linux carries ru_maxrss over fork and exec, so a parent grown by the
    # fill would lift every side's reported peak to its own.
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--fill", str(n), "--out", str(target)],
        check=True,
    )
    counts = json.loads((target / "ready").read_text())
    print(f"  filled {counts} in {time.perf_counter() - start:.0f} s", flush=True)
    return target


def _copy_to_postgres(data_dir: Path) -> None:
    """The filled SQLite shop in the PostgreSQL database of DATABASE_URL, unless it is there.

    The schema comes from the project's migrations; the tables of PG_TABLES are emptied and
    copied row by row with COPY (values as SQLite stores them: UTC text times, 0/1 booleans,
    JSON text), foreign-key triggers off during the copy, sequences moved past the ids. A
    `bench_filled` table remembers the counts copied, so the next run of that size reuses it.
    """
    import psycopg

    counts = (data_dir / "ready").read_text()
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE TABLE IF NOT EXISTS bench_filled (counts text)")
        if pg.execute("SELECT counts FROM bench_filled").fetchone() == (counts,):
            print("  reusing the PostgreSQL copy", flush=True)
            return
    start = time.perf_counter()
    env = {**os.environ, "HUITOUKE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, check=True)
    source = sqlite3.connect(data_dir / "huitouke.sqlite3")
    with psycopg.connect(url) as pg:
        pg.execute("SET TIME ZONE 'UTC'")
        pg.execute("SET session_replication_role = replica")  # no FK triggers while copying
        pg.execute("DELETE FROM bench_filled")
        pg.execute(f"TRUNCATE {', '.join(PG_TABLES)} CASCADE")
        for table in PG_TABLES:
            theirs = {r[0] for r in pg.execute(f"SELECT * FROM {table} LIMIT 0").description or []}
            columns = [
                r[1] for r in source.execute(f"PRAGMA table_info({table})") if r[1] in theirs
            ]
            names = ", ".join(f'"{c}"' for c in columns)
            rows = source.execute(f"SELECT {names} FROM {table}")
            with pg.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                while batch := rows.fetchmany(50_000):
                    for row in batch:
                        copy.write_row(row)
            if "id" in columns:
                pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
        pg.execute("SET session_replication_role = DEFAULT")
        for table in PG_TABLES:
            pg.execute(f"ANALYZE {table}")
        pg.execute("INSERT INTO bench_filled VALUES (%s)", [counts])
    source.close()
    print(f"  copied into PostgreSQL in {time.perf_counter() - start:.0f} s", flush=True)


def bench_size(n: int, cache: Path | None, full: bool) -> dict[str, dict[str, Any]]:
    """Time every side once on a database of n customers."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="huitouke-bench-") as scratch:
        data_dir = _database(n, cache, Path(scratch))
        if _postgres():
            _copy_to_postgres(data_dir)
        script = str(Path(__file__).resolve())
        # pandas and ours alternate, REPEAT times each (medians), so that what else runs on
        # the machine weighs on both; pandas goes first because ours checks itself against
        # the pandas script's results.
        runs: dict[str, list[dict[str, Any]]] = {"pandas": [], "ours": []}
        order = ["pandas", "ours"] * REPEAT + ["lifetimes", "duckdb", *(["full"] if full else [])]
        for side in order:
            r = _child([script, "--side", side, "--out", scratch], data_dir)
            runs.setdefault(side, []).append(r)
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"  {side:9s} {r['seconds']:8.2f} s  peak {r['peak_mib']:7.0f} MiB  load {load}",
                flush=True,
            )
        for side, done in runs.items():
            results[side] = dict(done[0])
            results[side]["seconds"] = statistics.median(r["seconds"] for r in done)
            results[side]["runs"] = [round(r["seconds"], 2) for r in done]
            results[side]["peak_mib"] = max(r["peak_mib"] for r in done)
    return results


def report(n: int, results: dict[str, dict[str, Any]]) -> list[str]:
    """Print markdown rows with the ratios and the checks; the targets missed at this size."""
    ours = results["ours"]["seconds"]
    pandas, duckdb = results["pandas"]["seconds"], results["duckdb"]["seconds"]
    print(f"\n### {n:,} customers ({results['pandas']['orders']:,} counted orders)\n")
    print("| side | seconds | ours / side | peak MiB |")
    print("|---|---:|---:|---:|")
    for side in SIDES:
        r = results[side]
        print(f"| {side} | {r['seconds']:.2f} | {ours / r['seconds']:.2f}× | {r['peak_mib']:.0f} |")
    faster = pandas / ours
    within = ours / duckdb
    need_pandas = RATIO_PANDAS_PG if _postgres() else RATIO_PANDAS
    print(
        f"\npandas / ours = {faster:.1f}× (need ≥ {need_pandas:g}×: "
        f"{'OK' if faster >= need_pandas else 'MISSED'}); ours / duckdb = {within:.2f}× "
        f"(need ≤ {RATIO_DUCKDB:g}×: {'OK' if within <= RATIO_DUCKDB else 'MISSED'})"
    )
    check = results["ours"]["check"]
    print(f"ours read from: {results['ours']['source']}; check: {check}")
    missed = [f"{n:,}: {k} disagree on {v:,}" for k, v in check["disagreements"].items() if v]
    if n >= TARGET_SIZE:
        if faster < need_pandas:
            missed.append(f"{n:,}: pandas / ours {faster:.1f}× < {need_pandas:g}×")
        if within > RATIO_DUCKDB and not _postgres():
            missed.append(f"{n:,}: ours / duckdb {within:.2f}× > {RATIO_DUCKDB:g}×")
    print(f"runs: ours {results['ours']['runs']}, pandas {results['pandas']['runs']}, ", end="")
    print(f"duckdb queries {results['duckdb']['query_runs']}")
    print(f"pandas read_sql share: {results['pandas']['read_seconds']:.2f} s")
    print(f"duckdb threads: {results['duckdb']['threads']}")
    if "full" in results:
        f = results["full"]
        print(
            f"full nightly refresh: {f['seconds']:.1f} s, peak {f['peak_mib']:.0f} MiB, "
            f"steps {f['timings']} (customers from {f['customers_from']})"
        )
        print(
            f"reports on {f['orders']:,} orders / {f['lines']:,} lines (frames loaded in "
            f"{f['load_seconds']} s): {f['reports']}"
        )
        whole = "OK" if f["seconds"] <= FULL_SECONDS else "MISSED"
        print(f"whole refresh {f['seconds']:.1f} s (need ≤ {FULL_SECONDS:g} s: {whole})")
        if n >= TARGET_SIZE and f["seconds"] > FULL_SECONDS and not _postgres():
            missed.append(f"{n:,}: whole refresh {f['seconds']:.1f} s > {FULL_SECONDS:g} s")
    return missed


def main() -> None:
    """Parse arguments; run one side (child) or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--cache", type=Path, help="keep (and reuse) the databases here")
    parser.add_argument("--no-full", action="store_true", help="skip the whole refresh")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--side", choices=list(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        counts = fill(args.out, args.fill, AS_OF, TZ)
        (args.out / "ready").write_text(json.dumps(counts))
        return
    if args.side:
        run_side(args.side, args.out)
        return
    os.environ["BENCH_DATABASE"] = args.database  # the sides' children read it
    if args.database == "postgres" and not os.environ.get("DATABASE_URL", "").startswith(
        "postgres"
    ):
        sys.exit("--database postgres needs DATABASE_URL=postgres://…/DB")
    print(
        f"database {args.database}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load {os.getloadavg()}"
    )
    missed: list[str] = []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"size {n:,}", flush=True)
        missed += report(n, bench_size(n, args.cache, not args.no_full))
    print(f"load at the end {os.getloadavg()}")
    if missed:
        sys.exit("targets missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
