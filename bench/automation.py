"""Time the automation daily pass (time triggers, no sending) against plain SQL, side by side.

    python bench/automation.py [--customers 1000000] [--repeat 5]

Builds a fresh SQLite database in a temporary HUITOUKE_DATA_DIR (`python -m huitouke migrate` in
a subprocess), bulk-loads one organisation with --customers customers (solar and lunar
birthdays), their stats, analytics and segment-state rows with raw `executemany`, saves five
active rules (birthday, 60 days since the last order, lifecycle changed to silent, first-order
anniversary, near the next tier), then alternates --repeat times: the engine's daily pass
(`evaluate_rule_day` for each rule and one local day, enrolments written, nothing sent) and one
plain SQL query selecting the same (customer, rule) pairs. Enrolments and rule runs are deleted
between repeats so every repeat does the same work. Prints medians and the ratio against 3x.
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
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchlib import batched, day_start, migrate, utc_text

LIMIT = 3.0
DAY = date(2026, 6, 30)  # the local day evaluated
TZ = ZoneInfo("Asia/Shanghai")
TIERS = [("银卡", 1000), ("金卡", 3000), ("钻石", 8000)]
WITHIN = 50
SINCE_DAYS = 60


def load(db_path: Path, n: int, seed: int = 8) -> int:
    """Bulk-insert one organisation's customers, stats, analytics, segment states; return its id."""
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(db_path)
    # Loading only: nothing here needs to survive a crash.
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    now = utc_text(day_start(DAY, TZ))
    org = int(
        con.execute(
            "INSERT INTO accounts_organisation (name, industry, time_zone, silent_after_days,"
            " churned_after_days, rfm_lookback_days, created_at, rfm_high_low, onboarding_step)"
            " VALUES ('基准美容连锁', 'other', 'Asia/Shanghai', 90, 180, 365, ?, 'mean', 'done')",
            (now,),
        ).lastrowid
        or 0
    )
    store = int(
        con.execute(
            "INSERT INTO accounts_store (name, address, phone, sms_signature, created_at,"
            " organisation_id) VALUES ('徐汇店', '', '', '', ?, ?)",
            (now, org),
        ).lastrowid
        or 0
    )
    for name, threshold in TIERS:
        con.execute(
            "INSERT INTO loyalty_tier (name, threshold, price_rate, points_multiplier,"
            " free_delivery, priority_service, birthday_gift, organisation_id)"
            " VALUES (?, ?, '1', '1', 0, 0, 0, ?)",
            (name, threshold, org),
        )

    # 85% have bought; orders geometric (mean ~3); days since the last order exponential (mean
    # ~150, capped at 3 years); 80% gave a birthday, a fifth of them lunar.
    bought = rng.random(n) < 0.85
    orders = np.where(bought, rng.geometric(0.33, n), 0)
    since_last = np.minimum(rng.exponential(150, n).astype(np.int64), 1095)
    tenure = since_last + (orders > 1) * rng.integers(30, 1500, n)
    spend = np.round(rng.lognormal(np.log(300), 0.8, n) * orders, 2)
    has_birthday = rng.random(n) < 0.8
    lunar = rng.random(n) < 0.2
    months = rng.integers(1, 13, n)
    days = rng.integers(1, 32, n)
    changed = rng.random(n) < 0.01  # went silent today
    base = day_start(DAY, TZ)
    month_len = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    def customers() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            month = int(months[i])
            if has_birthday[i]:
                kind = "lunar" if lunar[i] else "solar"
                top = 30 if lunar[i] else month_len[month - 1]
                bday: tuple[Any, ...] = (kind, month, min(int(days[i]), top))
            else:
                bday = ("solar", None, None)
            created = utc_text(base - timedelta(days=int(tenure[i]) + 10))
            yield (
                i + 1,
                *bday,
                False,
                "",
                f"客户{i}",
                f"139{i:08d}",
                "",
                "f",
                "",
                "",
                None,
                "",
                "",
                "walk_in",
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

    def stats() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            if not bought[i]:
                yield (i + 1, None, None, 0, "0", "0", "0", "0", "[]", now, org)
                continue
            last = base - timedelta(days=int(since_last[i])) + timedelta(hours=int(i % 12) + 1)
            first = base - timedelta(days=int(tenure[i])) + timedelta(hours=int(i % 13) + 2)
            spend12 = spend[i] if since_last[i] < 365 else 0.0
            yield (
                i + 1,
                utc_text(first),
                utc_text(last),
                int(orders[i]),
                f"{spend[i]:.2f}",
                "0",
                "0",
                f"{spend12:.2f}",
                "[]",
                now,
                org,
            )

    def lifecycle(i: int) -> str:
        if not bought[i]:
            return "potential"
        d = int(since_last[i])
        return (
            "churned"
            if d >= 180
            else "silent"
            if d >= 90
            else "new"
            if orders[i] == 1
            else "active"
        )

    def analytics() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            yield (i + 1, DAY.isoformat(), lifecycle(i), False, "", "", "[]", now, org, "org")

    def states() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            if changed[i]:
                yield (i + 1, "silent", "active", DAY.isoformat(), "", "", None, org)
            else:
                yield (i + 1, lifecycle(i), "", None, "", "", None, org)

    inserts = [
        (
            "INSERT INTO customers_customer (id, birthday_kind, birth_month, birth_day,"
            " birth_leap_month, external_id, name, phone, wechat_id, gender, ethnicity, city,"
            " city_tier, address, email, source, budget, notes, consent_sms, consent_email,"
            " consent_wechat, consent_updated_at, custom, created_at, updated_at,"
            " home_store_id, organisation_id, salutation_override, name_pinyin, name_initials)"
            " VALUES (" + ", ".join(["?"] * 27) + ", '', '', '')",
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
            " threshold_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            analytics,
        ),
        (
            "INSERT INTO automation_segmentstate (customer_id, lifecycle, lifecycle_from,"
            " lifecycle_since, rfm_segment, rfm_segment_from, rfm_segment_since,"
            " organisation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            states,
        ),
    ]
    with con:
        for sql, rows in inserts:
            for chunk in batched(rows()):
                con.executemany(sql, chunk)
    con.execute("ANALYZE")
    con.close()
    return org


def make_rules(org_id: int) -> list[Any]:
    """The five active time-triggered rules, saved as the editor saves them."""
    from huitouke.accounts.models import Organisation
    from huitouke.automation.actions import do_save_rule, new_rule
    from huitouke.automation.models import AutomationRule, Trigger

    org = Organisation.objects.get(pk=org_id)
    tag = [{"type": "add_tag", "tag": "bench"}]
    specs: list[tuple[str, dict[str, Any]]] = [
        (Trigger.BIRTHDAY, {}),
        (Trigger.DAYS_SINCE_LAST_ORDER, {"days": SINCE_DAYS}),
        (Trigger.SEGMENT_CHANGED, {"field": "lifecycle", "to": "silent"}),
        (Trigger.FIRST_ORDER_ANNIVERSARY, {}),
        (Trigger.NEAR_NEXT_TIER, {"within": str(WITHIN)}),
    ]
    rules = []
    for trigger, params in specs:
        rule = do_save_rule(
            new_rule(
                org,
                name=f"bench {trigger}",
                trigger=trigger,
                params=params,
                actions=tag,
                is_active=True,
            ),
            actor=None,
        )
        rules.append(AutomationRule.objects.select_related("organisation").get(pk=rule.pk))
    return rules


def limit_sql(org_id: int, rules: dict[str, int]) -> tuple[str, list[Any]]:
    """One plain query for the same (customer, rule) pairs the daily pass enrols."""
    from huitouke.automation.triggers import lunar_birthdays_on, solar_birthdays_on

    _, lunar_keys = lunar_birthdays_on(DAY)
    solar = " OR ".join(
        f"(c.birth_month = {m} AND c.birth_day = {d})" for m, d in solar_birthdays_on(DAY)
    )
    lunar = " OR ".join(
        f"(c.birth_month = {m} AND c.birth_day = {d} AND c.birth_leap_month = {int(leap)})"
        for m, d, leap in sorted(lunar_keys)
    )
    last = day_start(DAY - timedelta(days=SINCE_DAYS), TZ)
    near = []
    previous = 0
    for _, threshold in TIERS:
        near.append(
            f"(s.spend_12m >= {max(threshold - WITHIN, previous)} AND s.spend_12m < {threshold})"
        )
        previous = threshold
    live = "c.organisation_id = ? AND c.merged_into_id IS NULL"
    sql = f"""
    SELECT c.id AS cid, {rules["birthday"]} AS rid FROM customers_customer c WHERE {live}
      AND ((c.birthday_kind = 'solar' AND ({solar})) OR (c.birthday_kind = 'lunar' AND ({lunar})))
    UNION ALL
    SELECT c.id, {rules["days_since_last_order"]} FROM customers_customer c
      JOIN customers_customerstats s ON s.customer_id = c.id
      WHERE {live} AND s.last_order_at >= ? AND s.last_order_at < ?
    UNION ALL
    SELECT c.id, {rules["segment_changed"]} FROM customers_customer c
      JOIN automation_segmentstate g ON g.customer_id = c.id
      WHERE {live} AND g.lifecycle = 'silent' AND g.lifecycle_since = ?
    UNION ALL
    SELECT c.id, {rules["first_order_anniversary"]} FROM customers_customer c
      JOIN customers_customerstats s ON s.customer_id = c.id
      WHERE {live} AND s.first_order_at < ?
        AND strftime('%m-%d', s.first_order_at, '+8 hours') = ?
    UNION ALL
    SELECT c.id, {rules["near_next_tier"]} FROM customers_customer c
      JOIN customers_customerstats s ON s.customer_id = c.id
      WHERE {live} AND ({" OR ".join(near)})
    """
    params = [
        org_id,
        org_id,
        utc_text(last),
        utc_text(last + timedelta(days=1)),
        org_id,
        DAY.isoformat(),
        org_id,
        utc_text(day_start(date(DAY.year, 1, 1), TZ)),
        DAY.strftime("%m-%d"),
        org_id,
    ]
    return sql, params


def run(data_dir: Path, org_id: int, repeat: int) -> dict[str, Any]:
    """Alternate the engine pass and the plain query; return medians and counts."""
    os.environ["HUITOUKE_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from huitouke.automation.engine import evaluate_rule_day
    from huitouke.automation.models import Enrolment, RuleRun

    rules = make_rules(org_id)
    by_trigger = {r.trigger: r.pk for r in rules}
    sql, params = limit_sql(org_id, by_trigger)
    now = day_start(DAY, TZ) + timedelta(hours=1)

    def reset() -> None:
        Enrolment.objects.filter(rule__in=rules).delete()
        RuleRun.objects.filter(rule__in=rules).delete()

    engine_s: list[float] = []
    limit_s: list[float] = []
    insert_s: list[float] = []
    per_rule: dict[str, int] = {}
    rule_s: dict[str, list[float]] = {}
    pairs: list[tuple[int, int]] = []
    enrolled: set[tuple[int, int]] = set()
    for _ in range(repeat):
        reset()
        t0 = time.perf_counter()
        for rule in rules:
            t1 = time.perf_counter()
            per_rule[rule.trigger] = evaluate_rule_day(rule, DAY, now=now) or 0
            rule_s.setdefault(rule.trigger, []).append(time.perf_counter() - t1)
        engine_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            pairs = cursor.fetchall()
        limit_s.append(time.perf_counter() - t0)
        enrolled = set(
            Enrolment.objects.filter(rule__in=rules).values_list("customer_id", "rule_id")
        )
        # The same pairs written as enrolments by one INSERT ... SELECT: the floor for the
        # pass including its writes (the engine's own rows are gone by then).
        reset()
        t0 = time.perf_counter()
        with transaction.atomic():
            connection.connection.execute(
                "INSERT INTO automation_enrolment (occurrence_key, status, reason, detail,"
                " due_at, created_at, customer_id, organisation_id, rule_id)"
                " SELECT 'bench', 'scheduled', '', '{}', ?, ?, p.cid, ?, p.rid"
                f" FROM ({sql}) AS p",
                [utc_text(now), utc_text(now), org_id, *params],
            )
        insert_s.append(time.perf_counter() - t0)
    reset()
    return {
        "engine": statistics.median(engine_s),
        "limit": statistics.median(limit_s),
        "insert_select": statistics.median(insert_s),
        "per_rule": per_rule,
        "rule_ms": {k: statistics.median(v) * 1000 for k, v in rule_s.items()},
        "pairs": len(pairs),
        "same_pairs": enrolled == {tuple(p) for p in pairs},
    }


def main() -> None:
    """Build the database, time the pass, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="huitouke-bench-automation-"))
    try:
        t0 = time.perf_counter()
        migrate(data_dir)
        t1 = time.perf_counter()
        org_id = load(data_dir / "huitouke.sqlite3", args.customers)
        t2 = time.perf_counter()
        print(f"migrate {t1 - t0:.1f} s, load {args.customers:,} customers {t2 - t1:.1f} s")
        print(
            f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
            f"{platform.machine()} x{os.cpu_count()}, day {DAY}"
        )
        r = run(data_dir, org_id, args.repeat)
        for trigger, count in r["per_rule"].items():
            print(f"  {trigger:<26} {count:>7,} enrolled {r['rule_ms'][trigger]:>8.0f} ms")
        print(f"plain SQL pairs {r['pairs']:,}; same pairs as the engine: {r['same_pairs']}")
        print(
            f"one INSERT ... SELECT of the same pairs as enrolments {r['insert_select'] * 1000:.0f}"
            f" ms (engine / that {r['engine'] / r['insert_select']:.2f}x)"
        )
        ratio = r["engine"] / r["limit"] if r["limit"] else float("inf")
        verdict = "OK" if ratio <= LIMIT else "OVER"
        print(
            f"daily pass (median of {args.repeat}) {r['engine'] * 1000:.0f} ms,"
            f" plain SQL {r['limit'] * 1000:.0f} ms, ratio {ratio:.2f}x"
            f" (limit {LIMIT:.0f}x) {verdict}"
        )
    finally:
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
