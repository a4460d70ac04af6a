"""Sync of WeCom external contacts against the local stand-in: contacts/s and peak memory.

    python bench/wecom.py [--contacts 100000] [--members 20] [--profile]
    python bench/wecom.py --contacts 10000,40000,100000   # time per contact, side by side

A fresh SQLite database in a temporary HUITOUKE_DATA_DIR (the project's migrations in a child
process); the WeCom stand-in (tests/wecom/standin.py, a real HTTP server) runs in its own
process so its memory is not counted. Every contact is followed by one member (a tenth also
by a second one, added later, so ownership must pick the earliest). Timed: reading every page
alone (`read_contacts`: the HTTP paging, the limit the sync cannot beat), the first full sync
(members, tags, pages, 100,000 customers created) and a second sync (nothing changes). Peak
memory is this process's ru_maxrss before and after each step.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchlib import migrate  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(contacts: int, members: int, conn: Any) -> None:
    from tests.wecom.standin import WeComStandIn

    standin = WeComStandIn()
    for m in range(members):
        standin.add_member(f"u{m}", f"导购{m}", mobile=f"1370000{m:04d}")
    for n in range(contacts):
        owner = n % members
        follows = {f"u{owner}": {"remark": f"客户{n}", "createtime": 1_600_000_000 + n}}
        if n % 10 == 0:
            follows[f"u{(owner + 1) % members}"] = {"createtime": 1_700_000_000 + n}
        remark_mobiles = [f"139{n:08d}"] if n % 3 == 0 else []
        follows[f"u{owner}"]["remark_mobiles"] = remark_mobiles
        standin.add_contact(f"wm{n:07d}", f"客户{n}", follows)
    standin.start()
    conn.send((standin.url, standin.corp_id, standin.secret))
    conn.recv()  # until the parent is done
    standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--contacts",
        default="100000",
        help="contacts in the stand-in; several sizes separated by commas run one after the "
        "other (each in a fresh database and process) and are compared per contact",
    )
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print each batch's apply time and the first sync's top functions (cProfile)",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(n) for n in str(args.contacts).split(",")]
    if len(sizes) > 1:
        compare(sizes, args)
        return
    args.contacts = sizes[0]

    data_dir = Path(tempfile.mkdtemp(prefix="wecom-bench-"))
    started = time.perf_counter()
    migrate(data_dir)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    os.environ["HUITOUKE_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")

    parent, child = mp.Pipe()
    server = mp.get_context("fork").Process(
        target=serve, args=(args.contacts, args.members, child), daemon=True
    )
    started = time.perf_counter()
    server.start()
    url, corp_id, secret = parent.recv()
    print(f"stand-in with {args.contacts:,} contacts: {time.perf_counter() - started:.1f} s")

    import django

    django.setup()
    from django.conf import settings

    from huitouke.accounts.models import Organisation, Role, Store, User
    from huitouke.customers.models import Customer
    from huitouke.wecom.actions import client_for, do_save_connection
    from huitouke.wecom.sync import do_sync_contacts, read_contacts

    settings.WECOM_API_BASE = url
    org = Organisation.objects.create(name="Bench")
    store = Store.objects.create(organisation=org, name="总店")
    owner = User.objects.create(username="boss", organisation=org, role=Role.OWNER, store=store)
    for m in range(args.members):
        User.objects.create(
            username=f"s{m}",
            organisation=org,
            role=Role.STAFF,
            store=store,
            phone=f"1370000{m:04d}",
        )
    connection = do_save_connection(org, actor=owner, corp_id=corp_id, secret=secret)
    userids = [f"u{m}" for m in range(args.members)]

    base = rss_mb()
    started = time.perf_counter()
    remotes = read_contacts(client_for(connection), userids)
    read_s = time.perf_counter() - started
    print(
        f"read only: {len(remotes):,} contacts in {read_s:.1f} s "
        f"({len(remotes) / read_s:,.0f}/s), peak RSS {rss_mb():.0f} MB (was {base:.0f})"
    )
    del remotes

    batch_times: list[float] = []
    if args.profile:
        from huitouke.wecom import sync

        apply = sync._Applier.apply

        def timed(self: Any, batch: list[Any]) -> None:
            t = time.perf_counter()
            apply(self, batch)
            batch_times.append(time.perf_counter() - t)

        sync._Applier.apply = timed  # type: ignore[method-assign]

    results = {}
    cpu = {}
    for label in ("first sync", "second sync"):
        before = rss_mb()
        batch_times.clear()
        profiler = cProfile.Profile() if args.profile and label == "first sync" else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        counts = do_sync_contacts(connection, actor=owner)
        elapsed = time.perf_counter() - started
        cpu[label] = time.process_time() - cpu_started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        if batch_times:
            tenth = max(1, len(batch_times) // 10)
            print(
                f"{label}: apply per batch of 1,000, first {tenth}: "
                f"{sum(batch_times[:tenth]) / tenth * 1000:.0f} ms, last {tenth}: "
                f"{sum(batch_times[-tenth:]) / tenth * 1000:.0f} ms"
            )
        results[label] = elapsed
        print(
            f"{label}: {counts.contacts:,} contacts in {elapsed:.1f} s "
            f"({counts.contacts / elapsed:,.0f} contacts/s); created {counts.created:,}, "
            f"changed {counts.follows_changed:,}, unchanged {counts.unchanged:,}; "
            f"CPU {cpu[label]:.1f} s; "
            f"peak RSS {rss_mb():.0f} MB (was {before:.0f})"
        )
    assert Customer.objects.filter(organisation=org).count() == args.contacts
    print(f"ratio first sync / read only: {results['first sync'] / read_s:.2f}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    parent.send("done")
    server.join(timeout=5)
    if args.json:
        print(
            "JSON "
            + json.dumps(
                {
                    "contacts": args.contacts,
                    "read": read_s,
                    **results,
                    **{f"{k} CPU": v for k, v in cpu.items()},
                }
            )
        )


def compare(sizes: list[int], args: argparse.Namespace) -> None:
    """Each size in its own process, then the time per contact side by side.

    On a shared machine wall time follows the others' load, which changes during a run; the
    syncing process's CPU time per contact is the steadier measure of how the work grows.
    """
    rows = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--contacts", str(n), "--members", str(args.members)]
        done = subprocess.run(
            [*cmd, "--json", *(["--profile"] if args.profile else [])],
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stdout.splitlines()
        print("\n".join(line for line in lines if not line.startswith("JSON ")))
        rows.append(json.loads(next(x for x in lines if x.startswith("JSON "))[5:]))
    base = rows[0]
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")
    print(f"{'contacts':>9} {'step':16} {'s':>7} {'µs/contact':>11} {'vs ' + str(sizes[0]):>9}")
    for row in rows:
        for step in ("read", "first sync", "first sync CPU", "second sync", "second sync CPU"):
            per = row[step] / row["contacts"] * 1e6
            ratio = per / (base[step] / base["contacts"] * 1e6)
            print(f"{row['contacts']:9,} {step:16} {row[step]:7.1f} {per:11.0f} {ratio:8.2f}×")


if __name__ == "__main__":
    main()
