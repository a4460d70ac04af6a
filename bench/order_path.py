"""What one API order costs: SQL statements by table and CPU milliseconds, in process.

    python bench/order_path.py [--orders 200] [--database-url postgres://…/h_orders] [--profile]

The same request bench/cluster.py sends (`POST /api/v1/orders`, one line, a bearer token), made
through Django's test client (no HTTP, no gunicorn) with the cluster bench's order-paid
automation active, so what is measured is the application's own work per order: statements
(counted per table and kind, on-commit hooks included) and the process's CPU time. Without
--database-url a fresh SQLite database in a temporary folder; with it, that PostgreSQL database
is EMPTIED and migrated. The automation's worker side (acting on the enrolment, sending the SMS)
is not in it: it runs in the worker, off the request.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def kind_of(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    if head in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return "transaction"
    match = TABLE.search(sql)
    return f"{head} {match.group(1) if match else '?'}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    parser.add_argument("--show", action="store_true", help="print the last order's statements")
    args = parser.parse_args()

    env = dict(os.environ, HUITOUKE_DATA_DIR=tempfile.mkdtemp(prefix="order-path-"))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
        subprocess.run(
            [sys.executable, "-m", "huitouke", "flush", "--noinput"], env=env, capture_output=True
        )
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, check=True)
    os.environ.clear()
    os.environ.update(env, DJANGO_SETTINGS_MODULE="huitouke.settings")

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import cluster

    os.environ.update(BENCH_SMS_URL="http://127.0.0.1:9")  # the SMS goes from the worker
    seeded = cluster.seed(args.customers, 10)
    from huitouke.automation.models import Enrolment

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {seeded['token']}")

    def order(i: int) -> int:
        body = {
            "customer_id": seeded["customers"][i % len(seeded["customers"])],
            "external_id": f"bench-{i}",
            "lines": [{"name": "护理", "quantity": 1, "unit_price": f"{20 + i % 480}.00"}],
        }
        response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content[:300]
        return response.status_code

    for i in range(20):  # warm up: imports, caches, the token's first use
        order(i)
    statements: Counter[str] = Counter()
    per_order: list[float] = []
    profiler = cProfile.Profile() if args.profile else None
    counted = 0
    for i in range(20, 20 + args.orders):
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            if profiler:
                profiler.enable()
            order(i)
            if profiler:
                profiler.disable()
            per_order.append((time.process_time() - started) * 1000)
        counted += len(queries.captured_queries)
        statements.update(kind_of(q["sql"]) for q in queries.captured_queries)
    n = args.orders
    assert Enrolment.objects.count() == n + 20, "the order-paid rule enrolled every order"
    print(f"{connection.vendor}: {n} orders, load average {os.getloadavg()[0]:.2f}")
    print(
        f"CPU per order: median {statistics.median(per_order):.1f} ms, "
        f"mean {statistics.mean(per_order):.1f} ms; statements per order: {counted / n:.1f}"
    )
    for what, count in statements.most_common():
        print(f"  {count / n:5.1f}  {what}")
    if args.show:
        for q in queries.captured_queries:
            print("   ", q["sql"][:220])
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
