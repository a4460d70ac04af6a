"""Time the analytics refresh against pandas, lifetimes and DuckDB on the same demo database.

    python bench/analytics.py [--sizes 10000,100000,1000000]

For each size a fresh embedded SQLite database in a temporary HUITOUKE_DATA_DIR is filled with
`python -m huitouke demo --customers N --no-serve` (which also runs one refresh). Then each side
runs in its own child process, so that its peak memory (ru_maxrss) is its own:

- ours: `refresh_organisation` - loads customers, orders and lines, computes lifecycle (with
  category cycles), RFM, value class, due categories, the CLV model, every report, and writes
  CustomerAnalytics, CustomerDue and Report rows.
- pandas: `pandas.read_sql` of customers and orders, then lifecycle at 90/180 days (no category
  cycles), RFM scores over 365 days, segment and value class A-D.
- lifetimes: `summary_data_from_transaction_data` on the same orders (frequency, recency, T,
  monetary); reading the orders is not timed.
- duckdb: the orders loaded into an in-memory DuckDB first (not timed), then one SQL query for
  days since first/last, frequency, monetary, 1-5 scores and value class: the practical limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("ours", "pandas", "lifetimes", "duckdb")
SILENT, CHURNED, LOOKBACK = 90, 180, 365


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()


def _organisation_and_as_of() -> tuple[Any, Any]:
    from huitouke.accounts.models import Organisation
    from huitouke.analytics.jobs import local_today

    organisation = Organisation.objects.get()
    return organisation, local_today(organisation)


def _read_frames(as_of: Any, time_zone: str) -> tuple[Any, Any]:
    """Customers and counted orders (paid, net of refunds) with local order dates, via pandas."""
    import pandas as pd
    from django.conf import settings

    con = sqlite3.connect(str(settings.SQLITE_PATH))
    customers = pd.read_sql(
        "SELECT id AS customer_id FROM customers_customer WHERE merged_into_id IS NULL", con
    )
    orders = pd.read_sql(
        "SELECT customer_id, placed_at, net_paid - refunded_amount AS net FROM sales_order"
        " WHERE status = 'paid' AND customer_id IS NOT NULL",
        con,
    )
    con.close()
    placed = pd.to_datetime(orders["placed_at"], utc=True, format="ISO8601")
    orders["order_date"] = placed.dt.tz_convert(time_zone).dt.tz_localize(None).dt.normalize()
    orders = orders.drop(columns="placed_at")
    return customers, orders[orders["order_date"] <= pd.Timestamp(as_of)]


def side_ours() -> dict[str, Any]:
    """Our full refresh, timed end to end."""
    from huitouke.analytics.jobs import refresh_organisation

    organisation, as_of = _organisation_and_as_of()
    start = time.perf_counter()
    run = refresh_organisation(organisation, as_of)
    seconds = time.perf_counter() - start
    assert run is not None and run.status == "done", run
    return {"seconds": seconds, "customers": run.customers, "timings": run.detail["timings"]}


def _mid_rank_score(values: Any, *, lower_is_better: bool = False) -> Any:
    """Score 1-5 from the mid-rank percentile, as DESIGN §5 defines it."""
    import numpy as np

    ranked = -values if lower_is_better else values
    lo = ranked.rank(method="min").astype(np.int64)
    hi = ranked.rank(method="max").astype(np.int64)
    return np.minimum((5 * (lo + hi - 1)) // (2 * len(values)) + 1, 5)


def side_pandas() -> dict[str, Any]:
    """A plain pandas script: read, lifecycle 90/180, RFM scores, value class."""
    import numpy as np
    import pandas as pd

    organisation, as_of = _organisation_and_as_of()
    start = time.perf_counter()
    customers, orders = _read_frames(as_of, organisation.time_zone)
    read_s = time.perf_counter() - start
    today = pd.Timestamp(as_of)
    days = (today - orders["order_date"]).dt.days
    orders = orders.assign(days=days)
    per = orders.groupby("customer_id").agg(since_last=("days", "min"), since_first=("days", "max"))
    table = customers.set_index("customer_id").join(per)
    last, first = table["since_last"], table["since_first"]
    table["stage"] = np.select(
        [last.isna(), first <= SILENT, last <= SILENT, last <= CHURNED],
        ["potential", "new", "active", "silent"],
        default="churned",
    )
    window = orders[orders["days"] < LOOKBACK]
    rfm = window.groupby("customer_id").agg(
        recency=("days", "min"), frequency=("days", "size"), monetary=("net", "sum")
    )
    rfm["r_score"] = _mid_rank_score(rfm["recency"], lower_is_better=True)
    rfm["f_score"] = _mid_rank_score(rfm["frequency"])
    rfm["m_score"] = _mid_rank_score(rfm["monetary"])
    r = rfm["recency"] < rfm["recency"].mean()
    f = rfm["frequency"] > rfm["frequency"].mean()
    m = rfm["monetary"] > rfm["monetary"].mean()
    # DESIGN §5: A = R+M high; B = M high (R low) or R+F high (M low); C = the rest.
    rfm["value_class"] = np.select([r & m, m | (r & f)], ["A", "B"], default="C")
    table = table.join(rfm)
    table["value_class"] = table["value_class"].where(
        table["value_class"].notna(), np.where(last.isna(), "D", "C")
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "read_seconds": read_s,
        "customers": len(table),
        "orders": len(orders),
        "stages": table["stage"].value_counts().to_dict(),
        "classes": table["value_class"].value_counts().to_dict(),
    }


def side_lifetimes() -> dict[str, Any]:
    """lifetimes' RFM summary on the same orders; reading them is not timed."""
    from lifetimes.utils import summary_data_from_transaction_data

    organisation, as_of = _organisation_and_as_of()
    _, orders = _read_frames(as_of, organisation.time_zone)
    start = time.perf_counter()
    summary = summary_data_from_transaction_data(
        orders,
        "customer_id",
        "order_date",
        monetary_value_col="net",
        observation_period_end=str(as_of),
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


def side_duckdb() -> dict[str, Any]:
    """The same figures as one SQL query in in-memory DuckDB (loading not timed)."""
    import duckdb

    organisation, as_of = _organisation_and_as_of()
    customers, orders = _read_frames(as_of, organisation.time_zone)
    con = duckdb.connect()
    con.register("orders_df", orders)
    con.register("customers_df", customers)
    con.execute(
        "CREATE TABLE orders AS SELECT customer_id, order_date::DATE AS order_date,"
        " net::DOUBLE AS net FROM orders_df"
    )
    con.execute("CREATE TABLE customers AS SELECT * FROM customers_df")
    params = {"as_of": str(as_of), "silent": SILENT, "churned": CHURNED, "lookback": LOOKBACK}
    start = time.perf_counter()
    rows = con.execute(DUCKDB_SQL, params).fetchall()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "customers": len(rows),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


def run_side(side: str) -> None:
    """Child process: run one side and print its result as JSON."""
    _setup_django()
    sides = {
        "ours": side_ours,
        "pandas": side_pandas,
        "lifetimes": side_lifetimes,
        "duckdb": side_duckdb,
    }
    out = sides[side]()
    out["peak_mib"] = peak_mib()
    print("RESULT " + json.dumps(out, default=str))


def _child(args: list[str], data_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUITOUKE_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, text=True, capture_output=True, check=True
    )


def bench_size(n: int) -> dict[str, dict[str, Any]]:
    """Fill a fresh database with n demo customers, then time every side once."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="huitouke-bench-") as data_dir:
        start = time.perf_counter()
        _child(["-m", "huitouke", "demo", "--customers", str(n), "--no-serve"], data_dir)
        print(
            f"  demo of {n:,} customers loaded in {time.perf_counter() - start:.0f} s", flush=True
        )
        for side in SIDES:
            done = _child([str(Path(__file__).resolve()), "--side", side], data_dir)
            line = next(s for s in done.stdout.splitlines() if s.startswith("RESULT "))
            results[side] = json.loads(line.removeprefix("RESULT "))
            r = results[side]
            print(f"  {side:9s} {r['seconds']:8.2f} s  peak {r['peak_mib']:7.0f} MiB", flush=True)
    return results


def report(n: int, results: dict[str, dict[str, Any]]) -> None:
    """One Markdown table row per side, with ratios to ours."""
    ours = results["ours"]["seconds"]
    print(f"\n### {n:,} customers ({results['pandas']['orders']:,} counted orders)\n")
    print("| side | seconds | ours / side | peak MiB |")
    print("|---|---:|---:|---:|")
    for side in SIDES:
        r = results[side]
        print(f"| {side} | {r['seconds']:.2f} | {ours / r['seconds']:.1f}× | {r['peak_mib']:.0f} |")
    print(f"\nours, per step: {results['ours']['timings']}")
    print(f"pandas read_sql share: {results['pandas']['read_seconds']:.2f} s")
    print(f"duckdb threads: {results['duckdb']['threads']}")


def main() -> None:
    """Parse arguments; run one side (child) or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args.side)
        return
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load {os.getloadavg()}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"size {n:,}", flush=True)
        report(n, bench_size(n))


if __name__ == "__main__":
    main()
