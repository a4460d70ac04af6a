"""Many shops on one PostgreSQL: the nightly refresh of every organisation, by 1 and by 2 workers.

    DATABASE_URL=postgres://…/DB python bench/tenants.py [--orgs 2000]
        [--customers-per-org 500] [--orders-per-customer 10] [--staff-per-org 2] [--refill]

Issue 22 target 3: 2,000 organisations of 500 customers (about 5,000 orders each) on one
PostgreSQL; the nightly refresh of all of them by one worker process, then by two: total time,
per-shop time, and the 2-worker speed-up, which must be at least 1.6x on this 2-core machine;
no shop done twice, none skipped.

The database (DATABASE_URL, PostgreSQL only) gets the project's migrations, then is filled in
PostgreSQL itself (INSERT … SELECT over generate_series, seeded: no row crosses the client):
per organisation one store, --staff-per-org sales staff owning its customers in turn, seven
categories (four with a repurchase cycle) of five products, --customers-per-org customers, 90%
of them buyers with on average --orders-per-customer orders per customer over the three years
before the as-of date (one or two lines each, 3% refunded in full, 3% in part, net amounts
log-normal around ¥300), and their customer stats computed from the orders as `rebuild_stats`
keeps them (so the refresh takes the nightly "stats" path). The bench refuses a database that
has organisations it did not fill (it TRUNCATEs them); a later run with the same sizes reuses
the fill (--refill fills again).

Each run starts from no analytics results (results, due rows, reports and refresh runs
emptied, learned cycles cleared, tables vacuumed and analysed). Each worker is its own
process running the project's nightly loop, `jobs.refresh_due_organisations`, at 03:00 local
time of the as-of date: it walks every organisation and refreshes each one it claims (the
RefreshRun claim: one running run per organisation, and a look under the claim for a finished
one), so two workers share the shops with no other coordination. A worker starts Django and
warms up (one shop's frames, customer results, cycles and CLV computed, nothing written)
before the clock starts; the clock runs from "go" to the last worker's end.

Checked after each run: every organisation has exactly one finished refresh run for the as-of
date and none failed or left running, the runs' customers add up to the customers filled, and
the workers' lists of shops done are disjoint and cover every shop. Printed: total seconds,
seconds per shop (wall, and worker-seconds), the refresh's own time per shop (the runs' step
timings) and the per-shop overhead around it (the loop's look, the claim, the run's row), the
shops each worker did, the 2-worker speed-up and its target. The machine and the load average
are printed before and after. Exits 1 when a check fails, or when the speed-up misses 1.6x
from 100 organisations on (fewer shops are over too soon to time). --workers 2 runs only the
2-worker pass (a full-size pass where both do not fit the time; no speed-up then).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")
NIGHTLY_LOCAL = dt.time(3, 0)  # after jobs.NIGHTLY_AT (02:30)
SPEEDUP = 1.6  # issue 22 target 3: two workers at least 1.6x one on this 2-core machine
TARGET_FROM_ORGS = 100
WORKERS = (1, 2)
SEED = 0.2026
CATEGORIES = [  # name, configured cycle (days), share of lines (as bench/analytics_data.py)
    ("护肤", 60, 0.22),
    ("彩妆", None, 0.2),
    ("洗护", 45, 0.15),
    ("面膜", 30, 0.2),
    ("香水", None, 0.1),
    ("配饰", None, 0.1),
    ("美容仪器", 180, 0.03),
]
PRODUCTS_PER_CATEGORY = 5
# The refresh's outputs, emptied before each run.
OUTPUTS = (
    "analytics_refreshrun",
    "analytics_customeranalytics",
    "analytics_customerdue",
    "analytics_report",
)
FILLED = (
    "accounts_organisation",
    "accounts_store",
    "accounts_user",
    "sales_category",
    "sales_product",
    "customers_customer",
    "customers_customerstats",
    "sales_order",
    "sales_orderline",
)


def _env() -> dict[str, str]:
    # DEBUG off whatever the shell says: Django would keep every query of the loop in memory.
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DEBUG": "0"}


def _machine(pg: Any) -> str:
    version = pg.execute("SHOW server_version").fetchone()[0]
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, PostgreSQL {version}, "
        f"load {tuple(round(x, 2) for x in os.getloadavg())}"
    )


# --- the fill --------------------------------------------------------------------------------


def _sizes(args: argparse.Namespace) -> dict[str, int]:
    return {
        "orgs": args.orgs,
        "customers_per_org": args.customers_per_org,
        "orders_per_customer": args.orders_per_customer,
        "staff_per_org": args.staff_per_org,
    }


def _half_even_cents(cents: str, count: str) -> str:
    """cents / count in yuan, rounded half to even as Decimal.quantize does (rebuild_stats'
    average order value); NULL when count is 0."""
    c, n = f"({cents})::bigint", f"NULLIF({count}, 0)"
    q, r = f"div({c}, {n})", f"mod({c}, {n})"
    return (
        f"((CASE WHEN 2 * {r} > {n} OR (2 * {r} = {n} AND mod({q}, 2) = 1) THEN {q} + 1"
        f" ELSE {q} END) / 100.0)::numeric(14, 2)"
    )


def _fill(pg: Any, sizes: dict[str, int]) -> dict[str, int]:
    """Fill every table from PostgreSQL's own generate_series; the rows' counts."""
    n, per, staff = sizes["orgs"], sizes["customers_per_org"], sizes["staff_per_org"]
    n_cat, n_prod = len(CATEGORIES), PRODUCTS_PER_CATEGORY
    start = dt.datetime.combine(AS_OF, dt.time.min, tzinfo=TZ)
    end = start + dt.timedelta(days=1) - dt.timedelta(seconds=1)  # the as-of's last second
    first = end - dt.timedelta(days=3 * 365)
    created = first - dt.timedelta(days=1)
    # Buyers (90%) have 1 … 2k-1 orders, k chosen so that all customers average the option.
    k = max(1, round(sizes["orders_per_customer"] / 0.9))
    pg.execute(f"TRUNCATE {', '.join(FILLED)}, {', '.join(OUTPUTS)} RESTART IDENTITY CASCADE")
    # Indexes not behind a constraint are built again after the load (as a bulk loader would:
    # much faster than keeping a dozen of them up to date row by row).
    indexes = pg.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [list(FILLED)],
    ).fetchall()
    for name, _ in indexes:
        pg.execute(f'DROP INDEX "{name}"')
    pg.execute("SELECT setseed(%s)", [SEED])
    pg.execute(
        "INSERT INTO accounts_organisation (id, name, industry, time_zone, silent_after_days,"
        " churned_after_days, rfm_lookback_days, created_at, rfm_high_low, onboarding_step)"
        " SELECT g, '基准店' || g, 'cosmetics', %s, 90, 180, 365, %s, 'mean', 'done'"
        " FROM generate_series(1, %s) g",
        [TZ.key, created, n],
    )
    pg.execute(
        "INSERT INTO accounts_store (id, name, address, phone, sms_signature, created_at,"
        " organisation_id) SELECT g, '门店' || g, '', '', '', %s, g FROM generate_series(1, %s) g",
        [created, n],
    )
    if staff:
        pg.execute(
            "INSERT INTO accounts_user (id, password, is_superuser, username, first_name,"
            " last_name, email, is_staff, is_active, date_joined, role, display_name, phone,"
            " organisation_id, store_id, language)"
            " SELECT (o - 1) * %(s)s + j, '!', false, 'bench-' || o || '-' || j, '', '', '',"
            " false, true, %(t)s, 'staff', '导购' || j, '', o, o, ''"
            " FROM generate_series(1, %(n)s) o, generate_series(1, %(s)s) j",
            {"s": staff, "t": created, "n": n},
        )
    cycles = "ARRAY[" + ", ".join("NULL" if c is None else str(c) for _, c, _ in CATEGORIES) + "]"
    names = "ARRAY[" + ", ".join(f"'{name}'" for name, _, _ in CATEGORIES) + "]"
    pg.execute(
        "INSERT INTO sales_category (id, name, cycle_days, organisation_id)"
        f" SELECT (o - 1) * {n_cat} + c, ({names})[c], ({cycles}::int[])[c], o"
        f" FROM generate_series(1, %s) o, generate_series(1, {n_cat}) c",
        [n],
    )
    pg.execute(
        "INSERT INTO sales_product (id, sku, name, price, cost, is_active, category_id,"
        " organisation_id)"
        f" SELECT c.id * {n_prod} - {n_prod} + j, c.id || '-' || j, c.name || j || '号',"
        f" 199.00, 80.00, true, c.id, c.organisation_id"
        f" FROM sales_category c, generate_series(1, {n_prod}) j"
    )
    owner = f"(o - 1) * {staff} + 1 + mod(i, {staff})" if staff else "NULL"
    pg.execute(
        "INSERT INTO customers_customer (id, birthday_kind, birth_leap_month, external_id, name,"
        " salutation_override, phone, wechat_id, gender, ethnicity, city, address, email,"
        " source, notes, consent_sms, consent_email, consent_wechat, custom, created_at,"
        " updated_at, home_store_id, organisation_id, owner_id, name_pinyin, name_initials)"
        f" SELECT (o - 1) * %(per)s + i, 'solar', false, '', '客户' || i, '', NULL, '', 'f', '',"
        " '', '', '', 'walk_in', '', true, false, true, '{}', %(t)s, %(t)s, o, o,"
        f" {owner}, '', ''"
        " FROM generate_series(1, %(n)s) o, generate_series(1, %(per)s) i",
        {"per": per, "t": created, "n": n},
    )
    # Orders: a count per customer, then that many orders at uniform times; ids follow time.
    pg.execute(
        "CREATE TEMP TABLE bench_counts AS SELECT id AS customer_id, organisation_id,"
        " CASE WHEN random() < 0.9 THEN 1 + floor(random() * (2 * %s - 1))::int ELSE 0 END AS n"
        " FROM customers_customer",
        [k],
    )
    span = (end - first).total_seconds()
    pg.execute(
        "CREATE TEMP TABLE bench_orders AS SELECT customer_id, organisation_id,"
        " %(first)s::timestamptz + make_interval(secs => floor(random() * %(span)s)) AS placed_at,"
        " greatest(100, round(exp(ln(30000) + 0.7 * sqrt(-2 * ln(1 - random()))"
        " * cos(2 * pi() * random()))))::bigint AS net, random() AS kind,"
        " random() AS pick, random() < 0.35 AS two"
        " FROM bench_counts, generate_series(1, n)",
        {"first": first, "span": span},
    )
    # Category j of line by the shares' cumulative bounds; product 1-5 in it.
    bounds, acc = [], 0.0
    for _, _, share in CATEGORIES[:-1]:
        acc += share
        bounds.append(round(acc, 6))
    category_of = "width_bucket(pick, ARRAY[" + ", ".join(map(str, bounds)) + "]::float8[]) + 1"
    pg.execute(
        "CREATE TEMP TABLE bench_numbered AS SELECT row_number() OVER (ORDER BY placed_at,"
        f" customer_id) AS id, *, {category_of} AS cat,"
        f" 1 + floor(random() * {n_prod})::int AS prod FROM bench_orders"
    )
    money = "(({0}) / 100.0)::numeric(14, 2)"
    refunded = "CASE WHEN kind < 0.03 THEN net WHEN kind > 0.97 THEN net / 3 ELSE 0 END"
    pg.execute(
        "INSERT INTO sales_order (id, placed_at, status, gross_amount, discount_amount,"
        " coupon_amount, points_used, points_amount, net_paid, cost_amount, refunded_amount,"
        " refunded_cost, source, external_id, note, created_at, updated_at, customer_id,"
        " organisation_id, store_id)"
        " SELECT id, placed_at, CASE WHEN kind < 0.03 THEN 'refunded' ELSE 'paid' END,"
        f" {money.format('net')}, 0, 0, 0, 0, {money.format('net')},"
        f" {money.format('net * 2 / 5')}, {money.format(refunded)},"
        f" {money.format('CASE WHEN kind < 0.03 THEN net * 2 / 5 ELSE 0 END')},"
        " 'store', '', '', placed_at, placed_at, customer_id, organisation_id, organisation_id"
        " FROM bench_numbered"
    )

    # The first line carries the order's value; a second one, a ¥0 gift from the next
    # category, gives baskets a pair.
    def category_id(cat: str) -> str:
        return f"(organisation_id - 1) * {n_cat} + {cat}"

    def product_id(cat: str) -> str:
        return f"({category_id(cat)}) * {n_prod} - {n_prod} + prod"

    gift = f"(1 + mod(cat, {n_cat}))"
    pg.execute(
        "INSERT INTO sales_orderline (name, quantity, unit_price, unit_cost, refunded_quantity,"
        " category_id, order_id, product_id, import_key)"
        f" SELECT '', 1, {money.format('net')}, {money.format('net * 2 / 5')}, 0,"
        f" {category_id('cat')}, id, {product_id('cat')}, '' FROM bench_numbered"
        " UNION ALL"
        f" SELECT '', 1, 0, 0, 0, {category_id(gift)}, id, {product_id(gift)}, ''"
        " FROM bench_numbered WHERE two"
    )
    pg.execute(
        "INSERT INTO customers_customerstats (customer_id, organisation_id, first_order_at,"
        " last_order_at, orders_count, net_spend, gross_margin, avg_order_value, spend_12m,"
        " last_order_categories, updated_at)"
        " SELECT c.id, c.organisation_id, MIN(o.placed_at), MAX(o.placed_at), COUNT(o.id),"
        " COALESCE(SUM(o.net_paid - o.refunded_amount), 0),"
        " COALESCE(SUM(o.net_paid - o.refunded_amount - o.cost_amount + o.refunded_cost), 0),"
        f" COALESCE({_half_even_cents('SUM((o.net_paid - o.refunded_amount) * 100)', 'COUNT(o.id)')}, 0),"
        " COALESCE(SUM(o.net_paid - o.refunded_amount)"
        "   FILTER (WHERE o.placed_at > %(end)s::timestamptz - INTERVAL '365 days'), 0),"
        " '[]', %(end)s"
        " FROM customers_customer c LEFT JOIN sales_order o"
        " ON o.customer_id = c.id AND o.status = 'paid' GROUP BY c.id",
        {"end": end},
    )
    for _, definition in indexes:
        pg.execute(definition)
    # Her last visit's categories: every paid order on the local date of her last one.
    pg.execute(
        "UPDATE customers_customerstats s SET last_order_categories = v.categories FROM ("
        " SELECT o.customer_id, jsonb_agg(DISTINCT l.category_id ORDER BY l.category_id)"
        "   AS categories"
        " FROM customers_customerstats m JOIN sales_order o ON o.customer_id = m.customer_id"
        "   AND o.status = 'paid' AND o.placed_at >= m.last_order_at - INTERVAL '26 hours'"
        "   AND o.placed_at <= m.last_order_at"
        "   AND (o.placed_at AT TIME ZONE %(tz)s)::date = (m.last_order_at AT TIME ZONE %(tz)s)::date"
        " JOIN sales_orderline l ON l.order_id = o.id"
        " WHERE l.category_id IS NOT NULL AND l.quantity > l.refunded_quantity"
        " GROUP BY o.customer_id) v WHERE s.customer_id = v.customer_id",
        {"tz": TZ.key},
    )
    for table in FILLED:
        if table != "customers_customerstats":  # keyed by customer_id, no sequence
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
    counts = {
        table: pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in (
            "accounts_organisation",
            "customers_customer",
            "sales_order",
            "sales_orderline",
        )
    }
    for table in ("bench_counts", "bench_orders", "bench_numbered"):
        pg.execute(f"DROP TABLE {table}")
    return counts


def _prepare(url: str, sizes: dict[str, int], refill: bool) -> dict[str, int]:
    """Migrate, then fill (or reuse a fill of the same sizes); the filled counts."""
    import psycopg

    subprocess.run(
        [sys.executable, "-m", "huitouke", "migrate", "-v0"], env=_env(), cwd=ROOT, check=True
    )
    wanted = json.dumps(sizes, sort_keys=True)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE TABLE IF NOT EXISTS bench_tenants (sizes text, counts text)")
        marker = pg.execute("SELECT sizes, counts FROM bench_tenants").fetchone()
        orgs = pg.execute("SELECT count(*) FROM accounts_organisation").fetchone()[0]
        if marker is None and orgs:
            sys.exit(
                f"{orgs} organisations in this database that the bench did not fill: "
                "give it a database of its own (it empties the tables)"
            )
        if marker and marker[0] == wanted and not refill:
            counts = json.loads(marker[1])
            if counts.get("accounts_organisation") == orgs:
                print(f"  reusing the fill {counts}", flush=True)
                return dict(counts)
    start = time.perf_counter()
    with psycopg.connect(url) as pg:  # one transaction: a half fill leaves nothing
        pg.execute("SET TIME ZONE 'UTC'")
        pg.execute("SET session_replication_role = replica")  # no FK triggers while filling
        pg.execute("DELETE FROM bench_tenants")
        counts = _fill(pg, sizes)
        pg.execute("SET session_replication_role = DEFAULT")
        pg.execute("INSERT INTO bench_tenants VALUES (%s, %s)", [wanted, json.dumps(counts)])
    with psycopg.connect(url, autocommit=True) as pg:
        for table in FILLED:
            pg.execute(f"VACUUM ANALYZE {table}")
    print(f"  filled {counts} in {time.perf_counter() - start:.1f} s", flush=True)
    return counts


def _reset(url: str) -> None:
    """No analytics results, runs or learned cycles: every shop due again, nothing to upsert."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"TRUNCATE {', '.join(OUTPUTS)}")
        pg.execute(
            "UPDATE sales_category SET learned_cycle_days = NULL"
            " WHERE learned_cycle_days IS NOT NULL"
        )
        for table in (*OUTPUTS, "sales_category"):
            pg.execute(f"VACUUM ANALYZE {table}")


# --- the workers -----------------------------------------------------------------------------


def _nightly_now() -> dt.datetime:
    return dt.datetime.combine(AS_OF, NIGHTLY_LOCAL, tzinfo=TZ)


def worker() -> None:
    """Child process: set Django up, warm up, say READY, wait for "go", run the nightly loop."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()
    from huitouke.accounts.models import Organisation
    from huitouke.analytics import reports, results
    from huitouke.analytics.jobs import customer_core, refresh_due_organisations
    from huitouke.analytics.loader import load_frames

    shop = Organisation.objects.order_by("pk").first()
    if shop is not None:  # imports and first calls paid before the clock; nothing is written
        frames = load_frames(shop)
        customer_core(shop, AS_OF, frames)
        reports.cycles_report(frames, AS_OF)
        results.clv_outcome(frames, AS_OF)
    from django.db import connection

    connection.close()  # the loop opens its own, as a worker's tick would
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    started, start = time.time(), time.perf_counter()
    done = refresh_due_organisations(_nightly_now())
    seconds = time.perf_counter() - start
    out = {"done": done, "seconds": seconds, "started": started, "ended": started + seconds}
    print("RESULT " + json.dumps(out), flush=True)


def _run(workers: int) -> dict[str, Any]:
    """The nightly loop in `workers` processes at once; each one's result and the wall seconds
    from the first one's start to the last one's end (the workers' own clocks: neither the
    processes' start nor their exit is counted)."""
    script = str(Path(__file__).resolve())
    procs = [
        subprocess.Popen(
            [sys.executable, script, "--worker"],
            env=_env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "READY":
            sys.exit(f"a worker did not start: {line!r}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            sys.exit(f"a worker failed ({proc.returncode}):\n{out}")
        line = next(s for s in out.splitlines() if s.startswith("RESULT "))
        outs.append(json.loads(line.removeprefix("RESULT ")))
    wall = max(w["ended"] for w in outs) - min(w["started"] for w in outs)
    return {"seconds": wall, "workers": outs}


def _check(url: str, run: dict[str, Any], counts: dict[str, int]) -> tuple[list[str], float]:
    """What went wrong (an empty list: nothing) and the runs' own seconds summed."""
    import psycopg

    orgs = counts["accounts_organisation"]
    problems = []
    with psycopg.connect(url) as pg:
        done = dict(
            pg.execute(
                "SELECT o.id, count(r.id) FROM accounts_organisation o"
                " LEFT JOIN analytics_refreshrun r ON r.organisation_id = o.id"
                " AND r.as_of = %s AND r.status = 'done' GROUP BY o.id",
                [AS_OF],
            ).fetchall()
        )
        others = pg.execute(
            "SELECT status, count(*) FROM analytics_refreshrun WHERE status <> 'done'"
            " GROUP BY status"
        ).fetchall()
        customers, own = pg.execute(
            "SELECT COALESCE(SUM(customers), 0), COALESCE(SUM((detail->>'seconds')::float), 0)"
            " FROM analytics_refreshrun WHERE status = 'done'"
        ).fetchone()
    twice = sorted(org for org, k in done.items() if k > 1)
    skipped = sorted(org for org, k in done.items() if k == 0)
    if twice:
        problems.append(f"{len(twice)} shops done twice (first {twice[:5]})")
    if skipped:
        problems.append(f"{len(skipped)} shops not done (first {skipped[:5]})")
    if len(done) != orgs:
        problems.append(f"{len(done)} organisations, {orgs} filled")
    if others:
        problems.append(f"runs not done: {dict(others)}")
    if customers != counts["customers_customer"]:
        problems.append(f"runs cover {customers} customers, {counts['customers_customer']} filled")
    lists = [w["done"] for w in run["workers"]]
    together = [org for one in lists for org in one]
    if len(together) != len(set(together)):
        problems.append("two workers both report a shop done")
    if set(together) != set(done):
        problems.append(f"the workers report {len(set(together))} shops done of {len(done)}")
    return problems, float(own)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--customers-per-org", type=int, default=500)
    parser.add_argument("--orders-per-customer", type=int, default=10)
    parser.add_argument("--staff-per-org", type=int, default=2)
    parser.add_argument("--refill", action="store_true", help="fill again even if reusable")
    parser.add_argument(
        "--workers",
        default=",".join(map(str, WORKERS)),
        help="the runs, as worker counts (default 1,2; the speed-up needs both 1 and 2)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://…/DB names the PostgreSQL database to fill and use")
    if min(args.orgs, args.customers_per_org) < 1 or args.orders_per_customer < 0:
        sys.exit("--orgs and --customers-per-org must be at least 1")
    try:
        runs = [int(w) for w in args.workers.split(",")]
    except ValueError:
        runs = []
    if not runs or min(runs) < 1:
        sys.exit("--workers takes worker counts, e.g. 1,2 or 2")
    import psycopg

    with psycopg.connect(url) as pg:
        print(f"tenants bench: {_machine(pg)}", flush=True)
    sizes = _sizes(args)
    print(f"sizes {sizes}, as of {AS_OF} ({TZ.key}), nightly at {NIGHTLY_LOCAL}", flush=True)
    counts = _prepare(url, sizes, args.refill)
    orgs = counts["accounts_organisation"]
    rows: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for workers in runs:
        _reset(url)
        run = _run(workers)
        wrong, own = _check(url, run, counts)
        problems += [f"{workers} worker(s): {p}" for p in wrong]
        busy = sum(w["seconds"] for w in run["workers"])
        rows[workers] = {
            "seconds": run["seconds"],
            "per_shop_ms": 1000 * run["seconds"] / orgs,
            "worker_ms": 1000 * busy / orgs,
            "refresh_ms": 1000 * own / orgs,
            "overhead_ms": 1000 * (busy - own) / orgs,
            "shops": [len(w["done"]) for w in run["workers"]],
            "check": "; ".join(wrong) or "ok",
        }
        print(
            f"  {workers} worker(s): {run['seconds']:.1f} s, shops per worker "
            f"{rows[workers]['shops']}, check {rows[workers]['check']}, "
            f"load {tuple(round(x, 2) for x in os.getloadavg())}",
            flush=True,
        )
    print(
        f"\n### {orgs:,} shops × {args.customers_per_org:,} customers "
        f"({counts['sales_order']:,} orders, {counts['sales_orderline']:,} lines)\n"
    )
    print(
        "| workers | total s | ms per shop (wall) | worker-ms per shop | refresh ms per shop "
        "| overhead ms per shop | shops per worker | check |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    for workers, r in rows.items():
        print(
            f"| {workers} | {r['seconds']:.1f} | {r['per_shop_ms']:.1f} | {r['worker_ms']:.1f} "
            f"| {r['refresh_ms']:.1f} | {r['overhead_ms']:.1f} | {r['shops']} | {r['check']} |"
        )
    if 1 in rows and 2 in rows:
        speedup = rows[1]["seconds"] / rows[2]["seconds"]
        checked = orgs >= TARGET_FROM_ORGS
        verdict = ("OK" if speedup >= SPEEDUP else "MISSED") if checked else "not checked below "
        verdict += "" if checked else f"{TARGET_FROM_ORGS} shops"
        print(f"\n2-worker speed-up {speedup:.2f}× (target ≥ {SPEEDUP:g}×: {verdict})")
        if checked and speedup < SPEEDUP:
            problems.append(f"speed-up {speedup:.2f}× < {SPEEDUP:g}×")
    else:
        print("\n2-worker speed-up not measured: the runs were not both 1 and 2 workers")
    print(f"load at the end {tuple(round(x, 2) for x in os.getloadavg())}")
    if problems:
        sys.exit("failed: " + "; ".join(problems))


if __name__ == "__main__":
    main()
