"""Time an order import from CSV against a raw `executemany` insert of the same rows.

    python bench/imports.py [--rows 1000000] [--check 20] [--no-xlsx]

Writes a CSV of --rows order rows with the headers a store's Excel export has (顾客姓名, 手机,
下单日期, 产品名称, 数量, 售价, 品类, 订单号; about one customer per ten rows), then, each into a
fresh empty SQLite database (temporary HUITOUKE_DATA_DIR, `python -m huitouke migrate` in a
subprocess):

(a) our import: `python -m huitouke import orders FILE` in a subprocess, timed end to end
    (start-up, reading, matching, writing, customer stats, the job record);
(b) the limit: the customer, order and order-line rows that (a) wrote, read back from (a)'s
    database before the clock starts, inserted with `executemany` in one transaction on a
    plain sqlite3 connection with the project's pragmas (WAL, synchronous=NORMAL);
(b+) the same with every row (a) leaves that is not bookkeeping (also the customers' stats,
    loyalty accounts and tier changes) and, as on Django's connections, foreign keys
    enforced: the rows they point to that (a) made (organisation, store, categories,
    products, tiers, loyalty settings) are copied in before the clock starts. The import
    must write those rows and honour those constraints, so (b+) is the fair limit; the
    ratio is judged against it, and (b)'s printed beside it.

(c) the same rows as an .xlsx workbook (written by openpyxl before the clock starts), imported
    as (a) into a third fresh database: timed against (a), and its customer, order and line
    rows compared with (a)'s value by value (bookkeeping times left out).

Prints the times and each target's ratio against its limit (a/b+ <= 1.6, c/a <= 1.5) with OK
or MISSED, a summary even when a side failed (a workbook refused, say), exits 1 when a target is
missed or could not be measured, and checks for a sample of customers that
(a) left what a plain recomputation from the CSV gives: orders_count, net_spend and spend_12m
in her stats; no points (imported history earns none: loyalty only moves tiers after an import,
so her balance, debt and ledger stay empty); and her tier, the highest threshold her
trailing-12-month spend reached when the tier was set.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from zoneinfo import ZoneInfo

LIMIT = 1.6  # import / raw executemany (issue 22)
XLSX_LIMIT = 1.5  # xlsx import / the same rows as CSV
HEADERS = ["顾客姓名", "手机", "下单日期", "产品名称", "数量", "售价", "品类", "订单号"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "丽娜静敏燕霞芳婷雪慧玲洁琳颖萍红梅兰晶欣怡佳"
CATALOGUE = {
    "护肤": ["玻尿酸面膜", "氨基酸洁面", "保湿精华", "修护面霜", "防晒乳"],
    "彩妆": ["丝绒口红", "气垫粉底", "眉笔", "睫毛膏"],
    "美甲": ["单色美甲", "法式美甲", "卸甲护理"],
    "护理": ["肩颈护理", "面部深层清洁", "头皮护理"],
}
PRICES = ["39.90", "59.00", "88.00", "128.00", "168.00", "199.00", "268.00", "388.00"]
# The tables (b) writes: the rows of an order import that are not bookkeeping.
TABLES = ["customers_customer", "sales_order", "sales_orderline"]
# What (b+) writes besides: the other rows of the import that are not bookkeeping.
MORE_TABLES = ["customers_customerstats", "loyalty_loyaltyaccount", "loyalty_tierchange"]
# The rows those point to that the import made, copied into (b+)'s database untimed.
PARENT_TABLES = [
    "accounts_organisation",
    "accounts_store",
    "sales_category",
    "sales_product",
    "loyalty_tier",
    "loyalty_loyaltysettings",
]
START = datetime(2023, 1, 1, 9, 0)
IMPORT_CACHE_KIB = 256 * 1024  # huitouke.imports.engine.IMPORT_CACHE_KIB, given to (b+) too


def write_csv(path: Path, rows: int, seed: int = 6) -> None:
    """Write `rows` one-line orders for about rows/10 customers, each with its own 订单号."""
    rng = random.Random(seed)
    customers = max(1, rows // 10)
    people = [
        (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), f"139{i:08d}")
        for i in range(customers)
    ]
    products = [(name, cat) for cat, names in CATALOGUE.items() for name in names]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADERS)
        for i in range(rows):
            name, phone = people[rng.randrange(customers)]
            product, category = products[rng.randrange(len(products))]
            when = START + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
            out.writerow(
                [
                    name,
                    phone,
                    when.strftime("%Y-%m-%d %H:%M"),
                    product,
                    rng.randint(1, 3),
                    rng.choice(PRICES),
                    category,
                    f"SO{i:09d}",
                ]
            )


@dataclass
class Expected:
    """One customer's orders from the CSV: order numbers, spend, and (time, amount) of each row."""

    orders: set[str] = field(default_factory=set)
    spend: Decimal = Decimal(0)
    rows: list[tuple[datetime, Decimal]] = field(default_factory=list)

    def spend_since(self, start: datetime) -> Decimal:
        """Net spend of the rows placed after `start` (an aware datetime)."""
        return sum((amount for at, amount in self.rows if at > start), Decimal(0))


def expected_stats(path: Path, zone: ZoneInfo) -> dict[str, Expected]:
    """Orders and spend per phone, recomputed from the CSV with plain loops (times in `zone`)."""
    found: dict[str, Expected] = defaultdict(Expected)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            customer = found[row["手机"]]
            amount = Decimal(row["售价"]) * int(row["数量"])
            customer.orders.add(row["订单号"])
            customer.spend += amount
            customer.rows.append(
                (datetime.fromisoformat(row["下单日期"]).replace(tzinfo=zone), amount)
            )
    return found


def write_xlsx(csv_path: Path, path: Path) -> None:
    """The CSV's rows as a workbook, numbers as numbers (as a shop's Excel export has them)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("订单")
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        sheet.append(next(reader))
        for name, phone, when, product, quantity, price, category, number in reader:
            sheet.append(
                [name, phone, when, product, int(quantity), float(price), category, number]
            )
    workbook.save(path)


SKIP_COLUMNS = {"created_at", "updated_at"}


def comparable_rows(db_path: Path, table: str) -> Iterator[list[tuple[object, ...]]]:
    """read_rows of one table without the bookkeeping times, with each value's SQLite storage
    class, in batches (at 1M rows two whole tables side by side would not fit in memory)."""
    con = sqlite3.connect(db_path)
    try:
        names = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        cols = ", ".join(f"{n}, typeof({n})" for n in names if n not in SKIP_COLUMNS)
        cursor = con.execute(f"SELECT {cols} FROM {table} ORDER BY id")
        while batch := cursor.fetchmany(50_000):
            yield batch
    finally:
        con.close()


def same_rows(one: Path, other: Path) -> bool:
    """Whether the two databases hold the same rows of TABLES, value by value and by class."""
    for table in TABLES:
        for mine, theirs in zip_longest(comparable_rows(one, table), comparable_rows(other, table)):
            if mine != theirs:
                return False
    return True


def child_env(data_dir: Path) -> dict[str, str]:
    """The environment of a child process on its own SQLite database under `data_dir`."""
    env = dict(os.environ, HUITOUKE_DATA_DIR=str(data_dir))
    env.pop("DATABASE_URL", None)  # always SQLite: the comparison is on one engine
    return env


def fresh_db(data_dir: Path) -> Path:
    """Create the schema with the project's own migrations, in a child process."""
    subprocess.run(
        [sys.executable, "-m", "huitouke", "migrate", "-v0"], env=child_env(data_dir), check=True
    )
    return data_dir / "huitouke.sqlite3"  # settings.SQLITE_PATH


class ImportFailed(Exception):
    """`huitouke import` exited with an error: the message holds the end of its output."""


def run_import(data_dir: Path, path: Path) -> tuple[float, float]:
    """Our import as a user runs it, end to end; return seconds and the child's peak RSS in MB."""
    env = child_env(data_dir)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "huitouke", "import", "orders", str(path)],
            env=env,
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            out.seek(0)
            err.seek(0)
            tail = out.read()[-3000:] + err.read()[-3000:]
            raise ImportFailed(
                f"exit code {child.returncode}: {tail.decode('utf-8', 'replace').strip()}"
            )
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def read_rows(db_path: Path, tables: list[str] = TABLES) -> dict[str, list[tuple[object, ...]]]:
    """The rows (a) wrote to `tables`, in insertion order."""
    con = sqlite3.connect(db_path)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        con.close()


def _insert(con: sqlite3.Connection, rows: dict[str, list[tuple[object, ...]]]) -> None:
    for table, values in rows.items():
        if values:
            marks = ",".join("?" * len(values[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", values)


def raw_insert(
    db_path: Path,
    rows: dict[str, list[tuple[object, ...]]],
    parents: dict[str, list[tuple[object, ...]]] | None = None,
) -> float:
    """Insert the rows with executemany in one transaction; return seconds.

    With `parents` (b+): those rows go in first, untimed, and the timed insert enforces the
    foreign keys as Django's connections do (PRAGMA foreign_keys=ON; checked at COMMIT), with
    the page cache the import sets for itself (huitouke.imports.engine.IMPORT_CACHE_KIB).
    """
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    if parents is not None:
        con.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")  # the import's own page cache
    try:
        if parents is not None:
            con.execute("BEGIN")
            _insert(con, parents)
            con.execute("COMMIT")
            con.execute("PRAGMA foreign_keys=ON")
        started = time.perf_counter()
        con.execute("BEGIN")
        _insert(con, rows)
        con.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        con.close()


def utc(text: str) -> datetime:
    """A datetime column as Django stores it in SQLite (naive UTC text), made aware."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check_customers(db_path: Path, csv_path: Path, sample: int) -> bool:
    """Compare stats, points and tier of `sample` customers with the CSV recomputation."""
    con = sqlite3.connect(db_path)
    try:
        zone = ZoneInfo(con.execute("SELECT time_zone FROM accounts_organisation").fetchone()[0])
        tiers = sorted(
            (Decimal(str(threshold)), name)
            for threshold, name in con.execute("SELECT threshold, name FROM loyalty_tier")
        )
        expected = expected_stats(csv_path, zone)
        phones = random.Random(7).sample(sorted(expected), min(sample, len(expected)))
        ok = True
        for phone in phones:
            want = expected[phone]
            got = con.execute(
                "SELECT c.id, s.orders_count, CAST(s.net_spend AS TEXT),"
                " CAST(s.spend_12m AS TEXT), s.updated_at FROM customers_customer c"
                " JOIN customers_customerstats s ON s.customer_id = c.id WHERE c.phone LIKE ?",
                (f"%{phone}",),
            ).fetchall()
            if len(got) != 1:
                print(f"  {phone}: {len(got)} customers with this phone: WRONG")
                ok = False
                continue
            customer, count, spend, spend_12m, stats_at = got[0]
            window = want.spend_since(utc(stats_at) - timedelta(days=365))
            stats_ok = (count, Decimal(spend), Decimal(spend_12m)) == (
                len(want.orders),
                want.spend,
                window,
            )
            account = con.execute(
                "SELECT a.balance, a.debt, t.name, a.tier_since FROM loyalty_loyaltyaccount a"
                " LEFT JOIN loyalty_tier t ON t.id = a.tier_id WHERE a.customer_id = ?",
                (customer,),
            ).fetchone()
            entries = con.execute(
                "SELECT COUNT(*) FROM loyalty_pointsentry WHERE customer_id = ?", (customer,)
            ).fetchone()[0]
            points_ok = account is not None and account[:2] == (0, 0) and entries == 0
            tier_ok = False
            if account is not None and account[3] is not None:
                spent = want.spend_since(utc(account[3]) - timedelta(days=365))
                reached = [name for threshold, name in tiers if threshold <= spent]
                tier_ok = account[2] == (reached[-1] if reached else None)
            match = stats_ok and points_ok and tier_ok
            ok = ok and match
            print(
                f"  {phone}: stats ({count}, {spend}, 12m {spend_12m}) csv ({len(want.orders)},"
                f" {want.spend}, 12m {window}); points {account[:2] if account else None},"
                f" {entries} ledger rows; tier {account[2] if account else None}"
                f" {'ok' if match else 'WRONG'}"
            )
        return ok
    finally:
        con.close()


def machine() -> str:
    """The CPU model and core count, for the figures."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(label: str, ratio: float | None, limit: float, note: str = "") -> bool:
    """Print one target's line, OK or MISSED (also when it could not be measured); True if met."""
    if ratio is None:
        print(f"{label}: not measured ({note}) (limit {limit}x): MISSED")
        return False
    met = ratio <= limit
    print(f"{label}: {ratio:.2f}x (limit {limit}x){note}: {'OK' if met else 'MISSED'}")
    return met


def main() -> None:
    """Generate the file, run every side, print the figures, the targets and the stats check.

    A side that fails is reported and the others still run; the summary is printed either way,
    and the exit code is 1 when any target is missed or could not be measured.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--check", type=int, default=20, help="Customers whose stats, points and tier to check."
    )
    parser.add_argument("--no-xlsx", dest="xlsx", action="store_false", help="CSV side only.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="huitouke-bench-imports-"))
    times: dict[str, float] = {}
    failures: dict[str, str] = {}
    loads: list[str] = [f"start {load()}"]

    def side(name: str, run: Callable[[], float]) -> None:
        try:
            times[name] = run()
        except (ImportFailed, sqlite3.Error, OSError, subprocess.CalledProcessError) as exc:
            failures[name] = str(exc)[:600]
            print(f"({name}) FAILED: {failures[name]}")
        loads.append(f"after {name} {load()}")

    ok = False
    try:
        csv_path = root / "orders.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        size = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size:.1f} MB CSV in {time.perf_counter() - started:.1f} s")
        print(f"machine: {machine()}, Python {platform.python_version()}")

        ours_db = fresh_db(root / "ours")
        rss: dict[str, float] = {}

        def ours() -> float:
            seconds, rss["a"] = run_import(root / "ours", csv_path)
            return seconds

        side("a", ours)
        if "a" in times:
            rows = read_rows(ours_db)
            print("rows written:", ", ".join(f"{t} {len(r):,}" for t, r in rows.items()))
            raw_db = fresh_db(root / "raw")
            side("b", lambda: raw_insert(raw_db, rows))
            every = {**rows, **read_rows(ours_db, MORE_TABLES)}
            print("(b+) also:", ", ".join(f"{t} {len(every[t]):,}" for t in MORE_TABLES))
            fair_db = fresh_db(root / "raw_fk")
            side("b+", lambda: raw_insert(fair_db, every, read_rows(ours_db, PARENT_TABLES)))
            del rows, every  # the xlsx comparison below needs the memory

        same: bool | None = None
        if args.xlsx:
            xlsx_path = root / "orders.xlsx"
            started = time.perf_counter()
            write_xlsx(csv_path, xlsx_path)
            with zipfile.ZipFile(xlsx_path) as archive:
                unpacked = sum(i.file_size for i in archive.infolist())
            print(
                f"xlsx {xlsx_path.stat().st_size / 1e6:.1f} MB ({unpacked / 1e6:.1f} MB unpacked)"
                f" written in {time.perf_counter() - started:.1f} s (not timed)"
            )
            xlsx_db = fresh_db(root / "xlsx")

            def xlsx() -> float:
                seconds, rss["c"] = run_import(root / "xlsx", xlsx_path)
                return seconds

            side("c", xlsx)
            if "a" in times and "c" in times:
                same = same_rows(xlsx_db, ours_db)

        print(f"\n--- summary: {args.rows:,} rows; load {'; '.join(loads)}")
        names = {
            "a": "(a) huitouke import orders, CSV",
            "b": "(b) raw executemany, 3 tables",
            "b+": "(b+) every row, foreign keys, the import's page cache",
            "c": "(c) huitouke import orders, .xlsx",
        }
        for key, label in names.items():
            if key in times:
                peak = f", peak RSS {rss[key]:,.0f} MB" if key in rss else ""
                print(
                    f"{label:56}: {times[key]:8.2f} s ({args.rows / times[key]:,.0f} rows/s{peak})"
                )
            elif key in failures or (key != "c" or args.xlsx):
                print(f"{label:56}: {failures.get(key, 'not run')}")
        if "a" in times and "b" in times:
            print(f"a / b  {times['a'] / times['b']:.2f}x (three tables, no foreign keys)")
        met = verdict(
            "target 5 import / raw executemany (a / b+)",
            times["a"] / times["b+"] if "a" in times and "b+" in times else None,
            LIMIT,
            "" if "a" in times and "b+" in times else "a side failed",
        )
        if args.xlsx:
            if same is not None:
                print(
                    "xlsx rows vs csv rows (value and storage class):",
                    "same" if same else "DIFFERENT",
                )
            measured = "a" in times and "c" in times and same
            met = (
                verdict(
                    "target 5 xlsx import / csv import (c / a)",
                    times["c"] / times["a"] if measured else None,
                    XLSX_LIMIT,
                    "" if measured else ("rows differ" if same is False else "a side failed"),
                )
                and met
            )
        else:
            print(
                f"target 5 xlsx import / csv import (c / a): not run (--no-xlsx) (limit {XLSX_LIMIT}x)"
            )
        if "a" in times:
            print(f"check ({args.check} customers: stats, points and tier vs the CSV):")
            checked = check_customers(ours_db, csv_path, args.check)
            print("check:", "all right" if checked else "MISMATCH")
        else:
            checked = False
            print("check: not run, (a) failed: MISMATCH")
        ok = met and checked
        print("bench imports:", "OK" if ok else "MISSED")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
