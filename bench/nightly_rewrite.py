"""How much of a shop's stored analytics the next night's refresh rewrites, and why.

    python bench/nightly_rewrite.py DATA_DIR [--as-of 2026-06-30]
    (DATA_DIR: a data dir holding one shop, e.g. `python bench/analytics.py --fill 100000 --out
    DIR`, or one loaded by `huitouke demo --no-serve` with --as-of its last order's local date;
    the database is copied first, so the filled one stays as it was)

Runs `refresh_organisation` for day D, snapshots CustomerAnalytics and CustomerDue, runs it for
D+1 (no order in between: a quiet night), snapshots again and prints, for each table, how many
rows were written again (CustomerAnalytics: its `updated_at` moved, the upsert's change guard
let it through; CustomerDue: every row, the table is replaced), how many differ in each
column, and how many rows would still differ when some groups of columns are left out of the
comparison (the day counts and as_of; those and the CLV predictions). Then D+1 is refreshed
once more (nothing differs: no row is written again), and the three refreshes' per-step times
are printed: the third one's write steps are the floor of what fewer rewrites could save.
Whether the CLV model fitted is printed too (on the bench's synthetic orders it does not:
its fit is degenerate and no prediction is stored; `huitouke demo --no-serve` gives a shop
where it fits). SQLite only (the embedded database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "analytics_customeranalytics": ["customer_id"],
    "analytics_customerdue": ["customer_id", "category_id"],
}
DAY_COUNTS = {"as_of", "days_since_last", "days_since_first", "recency_days"}
CLV = {
    "p_alive",
    "expected_orders_90d",
    "p_order_90d",
    "expected_aov",
    "predicted_clv",
    "clv_rank",
    "clv_if_alive",
}


def snapshot(db: Path, table: str) -> Any:
    """The table as a Polars frame, read straight from the SQLite file."""
    import polars as pl

    con = sqlite3.connect(db)
    cur = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    con.close()
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def compare(before: Any, after: Any, keys: list[str]) -> dict[str, Any]:
    """Per column: rows whose value differs; rows differing apart from groups of columns."""
    import polars as pl

    joined = before.join(after, on=keys, how="full", suffix="_new", coalesce=True)
    columns = [c for c in before.columns if c not in keys and c != "id"]
    differs = {
        c: pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in columns if f"{c}_new" in joined.columns
    }
    flags = joined.select(**differs)
    per_column = {c: int(flags[c].sum()) for c in flags.columns}

    def rows_differing(leave_out: set[str]) -> int:
        kept = [c for c in flags.columns if c not in leave_out | {"updated_at"}]
        return int(flags.select(pl.any_horizontal(kept)).to_series().sum()) if kept else 0

    return {
        "rows_before": before.height,
        "rows_after": after.height,
        "only_before": int(joined[f"{columns[0]}_new"].is_null().sum()) if before.height else 0,
        "per_column": {c: n for c, n in per_column.items() if n},
        "rows_differing": rows_differing(set()),
        "with_p_alive": int(after["p_alive"].is_not_null().sum())
        if "p_alive" in after.columns
        else None,
        "without_day_counts": rows_differing(DAY_COUNTS),
        "without_day_counts_and_clv": rows_differing(DAY_COUNTS | CLV),
    }


def child(data_dir: Path, as_of: dt.date) -> None:
    """Run the two refreshes in this process and print the comparison as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()
    import logging

    logging.basicConfig(level=logging.WARNING)  # a writer's fallback shows in the output
    from django.conf import settings

    from huitouke.accounts.models import Organisation
    from huitouke.analytics.jobs import refresh_organisation

    db = Path(settings.SQLITE_PATH)
    organisation = Organisation.objects.get()
    out: dict[str, Any] = {"as_of": as_of.isoformat()}
    snaps = []
    # D, D+1, then D+1 again: the last writes nothing new, the floor of any saving in writes.
    for i, day in enumerate((as_of, as_of + dt.timedelta(days=1), as_of + dt.timedelta(days=1))):
        start = time.perf_counter()
        run = refresh_organisation(organisation, day)
        seconds = time.perf_counter() - start
        assert run is not None and run.status == "done", run
        out[["D", "D+1", "D+1 again"][i]] = {
            "seconds": round(seconds, 2),
            "timings": run.detail["timings"],
            "clv_ok": run.detail.get("clv_ok"),
            "clv_error": run.detail.get("clv_error"),
        }
        if i < 2:
            snaps.append({t: snapshot(db, t) for t in KEYS})
    for table, keys in KEYS.items():
        result = compare(snaps[0][table], snaps[1][table], keys)
        if table == "analytics_customeranalytics":
            result["rewritten"] = result["per_column"].get("updated_at", 0)
        else:
            # Written: a row whose id or any value is not as before (a replaced row gets a new
            # id), plus the rows deleted.
            before, after = snaps[0][table], snaps[1][table]
            kept = after.join(before, on=after.columns, how="semi", nulls_equal=True).height
            result["rewritten"] = after.height - kept + result["only_before"]
        out[table] = result
    print("RESULT " + json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 6, 30))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data_dir, args.as_of)
        return
    print(f"load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="huitouke-nightly-", dir=ROOT / "var") as scratch:
        work = Path(scratch)
        for name in ("huitouke.sqlite3", "field_key", "secret_key"):
            if (args.data_dir / name).exists():
                shutil.copy(args.data_dir / name, work / name)
        env = {**os.environ, "HUITOUKE_DATA_DIR": str(work), "PYTHONPATH": str(ROOT / "src")}
        env.pop("DATABASE_URL", None)
        import subprocess

        subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, check=True)
        done = subprocess.run(
            [sys.executable, __file__, str(work), "--as-of", args.as_of.isoformat(), "--child"],
            env=env,
            text=True,
            capture_output=True,
            check=False,
        )
        if done.returncode:
            sys.exit(done.stdout + done.stderr)
        for warning in (s for s in done.stderr.splitlines() if "failed" in s):
            print(f"  warning: {warning}")
        line = next(s for s in done.stdout.splitlines() if s.startswith("RESULT "))
        out = json.loads(line.removeprefix("RESULT "))
    print(f"D = {out['as_of']}")
    for day in ("D", "D+1", "D+1 again"):
        r = out[day]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items())
        print(f"refresh {day}: {r['seconds']:.2f} s ({steps})")
        print(f"    CLV fitted: {r['clv_ok']} {r['clv_error'] or ''}")
    for table in KEYS:
        r = out[table]
        print(
            f"{table}: {r['rows_after']:,} rows, {r['rewritten']:,} written again on D+1;"
            f" differing {r['rows_differing']:,}, without the day counts and as_of"
            f" {r['without_day_counts']:,}, without those and the CLV columns"
            f" {r['without_day_counts_and_clv']:,}; p_alive set on {r.get('with_p_alive')}"
        )
        for column, n in sorted(r["per_column"].items(), key=lambda kv: -kv[1]):
            print(f"    {column:24s} {n:9,}")
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
