"""Sync of WeCom external contacts against the local stand-in: contacts/s and peak memory.

    python bench/wecom.py [--contacts 100000] [--members 20]

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
import multiprocessing as mp
import os
import platform
import resource
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
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20)
    args = parser.parse_args()

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

    results = {}
    for label in ("first sync", "second sync"):
        before = rss_mb()
        started = time.perf_counter()
        counts = do_sync_contacts(connection, actor=owner)
        elapsed = time.perf_counter() - started
        results[label] = elapsed
        print(
            f"{label}: {counts.contacts:,} contacts in {elapsed:.1f} s "
            f"({counts.contacts / elapsed:,.0f} contacts/s); created {counts.created:,}, "
            f"changed {counts.follows_changed:,}, unchanged {counts.unchanged:,}; "
            f"peak RSS {rss_mb():.0f} MB (was {before:.0f})"
        )
    assert Customer.objects.filter(organisation=org).count() == args.contacts - 0
    print(f"ratio first sync / read only: {results['first sync'] / read_s:.2f}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    parent.send("done")
    server.join(timeout=5)


if __name__ == "__main__":
    main()
