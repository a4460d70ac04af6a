"""Time segment counts: the compiled ORM query against hand-written SQL, side by side.

    python bench/segments.py [--customers 1000000] [--repeat 5]

Builds a fresh SQLite database in a temporary HUITOUKE_DATA_DIR (`python -m huitouke migrate`
in a subprocess), bulk-loads one organisation with --customers customers, their stats and
analytics rows and some tags with raw `executemany`, then for a few typical segments times
`segment_customers(definition, org, as_of).count()` against an equivalent hand-written COUNT on
the same connection (alternating, --repeat runs each, median) and prints the ratio against the
3x limit, with EXPLAIN QUERY PLAN for any segment over it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchlib import batched, create_shop, day_start, migrate, utc_text

LIMIT = 3.0
AS_OF = date(2026, 6, 30)
TZ = ZoneInfo("Asia/Shanghai")
TAGS = ["VIP", "敏感肌", "老客转介绍", "会员日", "黑名单"]
LIFECYCLES = ["potential", "new", "active", "silent", "churned"]
SOURCES = ["walk_in", "referral", "wechat", "douyin", "xiaohongshu", "meituan", "online_shop"]
CITIES = ["上海", "杭州", "苏州", "成都", "武汉", "长沙", "昆明"]


def rfm_segment(r: int, f: int, m: int) -> str:
    """The eight-way RFM segment from 1-5 scores (high = score >= 3)."""
    key = (r >= 3, f >= 3, m >= 3)
    return {
        (True, True, True): "champions",
        (True, False, True): "promising_big_spenders",
        (False, True, True): "loyal_slipping",
        (False, False, True): "big_spenders_at_risk",
        (True, True, False): "loyal_low_spenders",
        (True, False, False): "new_promising",
        (False, True, False): "regulars_fading",
        (False, False, False): "lost",
    }[key]


def load(db_path: Path, n: int, seed: int = 20260630) -> dict[str, int]:
    """Bulk-insert one organisation's customers, stats, analytics and tags; return counts."""
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(db_path)
    # Loading only: nothing here needs to survive a crash.
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    now = utc_text(day_start(AS_OF, TZ))
    org, store = create_shop(con, "基准美容连锁", "other", "Asia/Shanghai", "徐汇店", now)
    tag_ids = []
    for name in TAGS:
        cur = con.execute(
            "INSERT INTO customers_tag (name, organisation_id) VALUES (?, ?)", (name, org)
        )
        tag_ids.append(int(cur.lastrowid or 0))

    # Distributions: 85% have bought; orders geometric (mean ~3); days since the last order
    # roughly exponential with a long tail (mean ~150 days, capped at 3 years); spend
    # log-normal per order (median ~300 yuan).
    bought = rng.random(n) < 0.85
    orders = np.where(bought, rng.geometric(0.33, n), 0)
    since_last = np.minimum(rng.exponential(150, n).astype(np.int64), 1095)
    tenure = since_last + (orders > 1) * rng.integers(30, 900, n)
    aov = np.round(rng.lognormal(np.log(300), 0.8, n), 2)
    spend = np.round(aov * orders, 2)
    r = np.clip(5 - since_last // 60, 1, 5)
    f = np.clip(orders, 1, 5)
    m = np.clip(np.searchsorted(np.quantile(spend[bought], [0.2, 0.4, 0.6, 0.8]), spend) + 1, 1, 5)
    birth_year = np.where(rng.random(n) < 0.6, rng.integers(1960, 2006, n), 0)
    created_days = tenure + rng.integers(0, 60, n)
    gender = rng.choice(["f", "m", ""], n, p=[0.75, 0.15, 0.10])
    source = rng.integers(0, len(SOURCES), n)
    city = rng.integers(0, len(CITIES), n)
    base = day_start(AS_OF, TZ)

    def customers() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            created = utc_text(base - timedelta(days=int(created_days[i]), hours=3))
            year = int(birth_year[i]) or None
            yield (
                i + 1,
                "solar",
                year,
                int(rng_months[i]) if year else None,
                int(rng_days[i]) if year else None,
                False,
                "",
                f"客户{i}",
                f"139{i:08d}",
                "",
                str(gender[i]),
                "",
                CITIES[int(city[i])],
                int(city[i]) % 4 + 1,
                "",
                "",
                SOURCES[int(source[i])],
                None,
                "",
                True,
                False,
                True,
                None,
                "{}",
                created,
                created,
                store,
                org,
            )

    rng_months = rng.integers(1, 13, n)
    rng_days = rng.integers(1, 29, n)

    def stats() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            if not bought[i]:
                yield (i + 1, None, None, 0, "0", "0", "0", "0", "[]", now, org)
                continue
            last = base - timedelta(days=int(since_last[i])) + timedelta(hours=int(i % 12) + 1)
            first = base - timedelta(days=int(tenure[i])) + timedelta(hours=2)
            spend12 = spend[i] if since_last[i] < 365 else 0.0
            yield (
                i + 1,
                utc_text(first),
                utc_text(last),
                int(orders[i]),
                f"{spend[i]:.2f}",
                f"{spend[i] * 0.55:.2f}",
                f"{aov[i]:.2f}",
                f"{spend12:.2f}",
                "[]",
                now,
                org,
            )

    def analytics() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            if not bought[i]:
                yield (i + 1, AS_OF.isoformat(), "potential", False, "", "", "[]", now, org, "")
                continue
            d = int(since_last[i])
            if d >= 180:
                life = "churned"
            elif d >= 90:
                life = "silent"
            elif orders[i] == 1:
                life = "new"
            else:
                life = "active"
            seg = rfm_segment(int(r[i]), int(f[i]), int(m[i]))
            value = "ABCD"[min(3, 5 - int(m[i]))]
            yield (i + 1, AS_OF.isoformat(), life, False, seg, value, "[]", now, org, "org")

    # Tags: 3% VIP, 12% one other tag, a few with two.
    tag_rows: list[tuple[int, int]] = []
    vip = np.nonzero(rng.random(n) < 0.03)[0]
    tag_rows += [(int(i) + 1, tag_ids[0]) for i in vip]
    other = np.nonzero(rng.random(n) < 0.12)[0]
    picks = rng.integers(1, len(tag_ids), len(other))
    tag_rows += [(int(i) + 1, tag_ids[int(p)]) for i, p in zip(other, picks, strict=True)]
    tag_rows = sorted(set(tag_rows))

    inserts: list[tuple[str, Callable[[], Iterator[tuple[Any, ...]]]]] = [
        (
            "INSERT INTO customers_customer (id, birthday_kind, birth_year, birth_month,"
            " birth_day, birth_leap_month, external_id, name, phone, wechat_id, gender,"
            " ethnicity, city, city_tier, address, email, source, budget, notes, consent_sms,"
            " consent_email, consent_wechat, consent_updated_at, custom, created_at, updated_at,"
            " home_store_id, organisation_id, salutation_override, name_pinyin, name_initials)"
            " VALUES (" + ", ".join(["?"] * 28) + ", '', '', '')",
            customers,
        ),
        (
            "INSERT INTO customers_customerstats (customer_id, first_order_at, last_order_at,"
            " orders_count, net_spend, gross_margin, avg_order_value, spend_12m,"
            " last_order_categories, updated_at, organisation_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stats,
        ),
        (
            "INSERT INTO analytics_customeranalytics (customer_id, as_of, lifecycle, reactivated,"
            " rfm_segment, value_class, due_categories, updated_at, organisation_id,"
            " threshold_source, days_since_last, recency_days, frequency, r_score, f_score,"
            " m_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL)",
            analytics,
        ),
    ]
    with con:
        for sql, rows in inserts:
            for chunk in batched(rows()):
                con.executemany(sql, chunk)
        con.executemany(
            "INSERT INTO customers_customer_tags (customer_id, tag_id) VALUES (?, ?)", tag_rows
        )
    con.execute("ANALYZE")
    con.close()
    return {"organisation": org, "tag_rows": len(tag_rows)}


def segments(org: int) -> list[tuple[str, dict[str, Any], str, list[Any]]]:
    """(name, definition, hand-written SQL, params) for the typical segments timed."""
    silent_lo = utc_text(day_start(AS_OF - timedelta(days=59), TZ))  # days >= 60
    silent_hi = utc_text(day_start(AS_OF - timedelta(days=120), TZ))  # days <= 120
    base = (
        "SELECT COUNT(*) FROM customers_customer c {join}"
        " WHERE c.organisation_id = ? AND c.merged_into_id IS NULL AND {where}"
    )
    stats_join = "JOIN customers_customerstats s ON s.customer_id = c.id"
    ca_join = "JOIN analytics_customeranalytics a ON a.customer_id = c.id"

    def cond(field: str, op: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    def definition(*conditions: dict[str, Any]) -> dict[str, Any]:
        return {"version": 1, "match": "all", "conditions": list(conditions)}

    return [
        (
            "lifecycle in (silent, churned) AND net_spend >= 1000",
            definition(
                cond("lifecycle", "in", ["silent", "churned"]), cond("net_spend", "gte", 1000)
            ),
            base.format(
                join=f"{ca_join} {stats_join}",
                where="a.lifecycle IN ('silent', 'churned') AND s.net_spend >= 1000",
            ),
            [org],
        ),
        (
            "rfm_segment = big_spenders_at_risk",
            definition(cond("rfm_segment", "in", ["big_spenders_at_risk"])),
            base.format(join=ca_join, where="a.rfm_segment = 'big_spenders_at_risk'"),
            [org],
        ),
        (
            "tags any [VIP]",
            definition(cond("tags", "any", ["VIP"])),
            base.format(
                join="",
                where="c.id IN (SELECT ct.customer_id FROM customers_customer_tags ct"
                " WHERE ct.tag_id = (SELECT id FROM customers_tag"
                " WHERE organisation_id = ? AND name = 'VIP'))",
            ),
            [org, org],
        ),
        (
            "days_since_last_order 60-120 AND orders_count >= 2",
            definition(
                cond("days_since_last_order", "between", [60, 120]),
                cond("orders_count", "gte", 2),
            ),
            base.format(
                join=stats_join,
                where="s.last_order_at < ? AND s.last_order_at >= ? AND s.orders_count >= 2",
            ),
            [org, silent_lo, silent_hi],
        ),
    ]


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    """Seconds one call takes, and what it returned."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    """Build the database, time the segments, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="huitouke-bench-segments-"))
    try:
        t0 = time.perf_counter()
        migrate(data_dir)
        t1 = time.perf_counter()
        info = load(data_dir / "huitouke.sqlite3", args.customers)
        t2 = time.perf_counter()
        print(f"migrate {t1 - t0:.1f} s, load {args.customers:,} customers {t2 - t1:.1f} s")
        run(data_dir, info["organisation"], args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"kept {data_dir}")


def run(data_dir: Path, org_id: int, repeat: int) -> None:
    """Time each segment, ORM vs hand SQL, alternating, and print the medians."""
    os.environ["HUITOUKE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huitouke.accounts.models import Organisation
    from huitouke.accounts.scoping import ALL
    from huitouke.segments.compiler import segment_customers

    org = Organisation.objects.get(pk=org_id)
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(f"{'segment':<55} {'count':>9} {'ORM ms':>9} {'SQL ms':>9} {'ratio':>7}  limit 3x")
    over: list[str] = []
    plans: list[tuple[str, dict[str, Any], str, list[Any]]] = []
    for name, definition, sql, params in segments(org_id):

        def orm(definition: dict[str, Any] = definition) -> int:
            return int(segment_customers(definition, org, AS_OF, scope=ALL).count())

        def raw(sql: str = sql, params: list[Any] = params) -> int:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return int(cursor.fetchone()[0])

        orm(), raw()  # warm the page cache and the ORM's imports before timing
        orm_s, sql_s = [], []
        counts = set()
        for _ in range(repeat):
            seconds, value = timed(orm)
            orm_s.append(seconds)
            counts.add(("orm", value))
            seconds, value = timed(raw)
            sql_s.append(seconds)
            counts.add(("sql", value))
        if len({v for _, v in counts}) != 1:
            raise SystemExit(f"{name}: counts differ: {sorted(counts)}")
        a, b = statistics.median(orm_s), statistics.median(sql_s)
        ratio = a / b
        flag = "OK" if ratio <= LIMIT else "OVER"
        count = next(iter(counts))[1]
        print(f"{name:<55} {count:>9,} {a * 1e3:>9.1f} {b * 1e3:>9.1f} {ratio:>6.2f}x  {flag}")
        if ratio > LIMIT:
            over.append(name)
        plans.append((name, definition, sql, params))
    # The query plans, so a ratio over the limit can be traced to an index or a query shape.
    for name, definition, sql, params in plans:
        with CaptureQueriesContext(connection) as captured:
            segment_customers(definition, org, AS_OF, scope=ALL).count()
        orm_sql = captured.captured_queries[-1]["sql"]
        mark = "  (OVER THE LIMIT)" if name in over else ""
        print(f"\n== {name}{mark}\nORM SQL: {orm_sql}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + orm_sql)
            print("ORM plan:", " | ".join(row[-1] for row in cursor.fetchall()))
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            print("SQL plan:", " | ".join(row[-1] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
