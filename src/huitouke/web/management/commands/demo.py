"""`huitouke demo`: migrate, load the demo salon once, print the logins, serve with a worker."""

from __future__ import annotations

import signal
import unicodedata
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY

from huitouke.accounts.models import Organisation, User
from huitouke.analytics.jobs import refresh_organisation
from huitouke.core.planner import refresh_planner_statistics
from huitouke.demo.generator import DEMO_ACCOUNTS, DEMO_PASSWORD, generate_demo
from huitouke.followups.sop import run_sops

ROLE_LABELS = {"owner": "老板 owner", "manager": "店长 manager", "staff": "导购 staff"}
STAGE_LABELS = {
    "setup": "门店与商品 stores & products",
    "customers": "客户与订单 customers & orders",
    "stats": "客户统计 stats",
}


def _pad(text: str, width: int) -> str:
    """Pad to `width` terminal columns, counting Chinese characters as two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 1)


class Command(BaseCommand):
    help = (
        "Load realistic demo data into a fresh database (once), print the demo logins and serve it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=3000,
            help="How many customers to generate (default 3000).",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Stop after loading (for tests and benchmarks)."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the embedded SQLite database first."
        )
        parser.add_argument(
            "--port", type=int, default=8000, help="Port of the web server on 127.0.0.1."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["customers"] < 1:
            raise CommandError(f"--customers must be at least 1, got {opts['customers']}.")
        if opts["reset"]:
            self.reset()
        call_command("migrate", interactive=False, verbosity=0)
        if Organisation.objects.exists():
            self.stdout.write(
                "数据库已有数据，直接使用。 The database already has data; reusing it."
            )
        else:
            self.load(opts["customers"], opts["seed"])
        self.print_logins()
        if not opts["no_serve"]:
            self.serve(opts["port"])

    def reset(self) -> None:
        """Remove the embedded SQLite database (and its WAL files) and the embedded job queue."""

        db = connections["default"]
        if db.vendor != "sqlite":
            raise CommandError(
                "--reset only deletes the embedded SQLite database; drop and re-create a PostgreSQL database yourself."
            )
        connections.close_all()
        self.delete(Path(db.settings_dict["NAME"]))
        queue = getattr(HUEY.storage, "filename", None)
        if queue:
            # The queue's connection was opened at start-up: reopen it on a new file with its tables.
            HUEY.storage.close()
            self.delete(Path(queue))
            HUEY.storage.initialize_schema()
        self.stdout.write("已删除演示数据库。 Deleted the embedded database.")

    @staticmethod
    def delete(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def load(self, customers: int, seed: int) -> None:
        shown: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            # About ten lines per stage, whatever the size.
            step = max(total // 10, 1)
            if done == total or done // step != shown.get(stage, -1):
                shown[stage] = done // step
                self.stdout.write(f"  {STAGE_LABELS.get(stage, stage)}: {done:,}/{total:,}")

        self.stdout.write(
            f"正在生成演示数据 Generating demo data ({customers:,} customers, seed {seed}) ..."
        )
        summary = generate_demo(customers=customers, seed=seed, progress=progress)
        self.stdout.write(
            f"已生成 {summary.customers:,} 位客户（潜客 {summary.potential_customers:,}）、{summary.orders:,} 笔订单、"
            f"{summary.refunds:,} 笔退款，用时 {summary.seconds:.1f} 秒。\n"
            f"Loaded {summary.customers:,} customers ({summary.potential_customers:,} potential), "
            f"{summary.orders:,} orders, {summary.refunds:,} refunds in {summary.seconds:.1f} s."
        )
        self.prepare_screens()
        refresh_planner_statistics()  # the planner sees the filled tables (core.planner)

    def prepare_screens(self) -> None:
        """Compute analytics and today's follow-up tasks so every screen has something to show."""

        for org in Organisation.objects.all():
            self.stdout.write("正在计算客户分析 Computing analytics ...")
            refresh_organisation(org)
            run_sops(org)

    def print_logins(self) -> None:
        usernames = [username for username, *_rest in DEMO_ACCOUNTS]
        users = {
            u.username: u
            for u in User.objects.filter(username__in=usernames).select_related("store")
        }
        if not users:
            self.stdout.write(
                "没有演示账号（数据库不是演示数据）。 No demo accounts: this database was not made by `demo`."
            )
            return
        self.stdout.write(f"\n演示账号 Demo logins — 密码 password: {DEMO_PASSWORD}")
        self.stdout.write(f"  {'用户名 username':<16}{'角色 role':<16}门店 store")
        for username in usernames:
            user = users.get(username)
            if user is not None:
                store = user.store.name if user.store else ""
                self.stdout.write(
                    f"  {username:<16}{ROLE_LABELS.get(user.role, user.role):<16}{store}"
                )

    def serve(self, port: int) -> None:
        """Django's development server on 127.0.0.1, with a Huey consumer in background threads."""
        consumer = self.start_worker()
        self.stdout.write(f"\n打开 Open http://127.0.0.1:{port}/  (Ctrl+C 退出 to stop)\n")
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
        finally:
            if consumer is not None:
                consumer.stop()

    def start_worker(self) -> Any:

        if HUEY.immediate:
            return None  # jobs already run inline
        autodiscover_modules("tasks")
        consumer = HUEY.create_consumer(workers=1, worker_type="thread")
        # Consumer.start() installs SIGINT/SIGTERM handlers meant for a consumer-only process;
        # putting the previous ones back keeps Ctrl+C stopping the web server. Its threads are daemons.
        signals = [signal.SIGINT, signal.SIGTERM] + (
            [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
        )
        saved = {sig: signal.getsignal(sig) for sig in signals}
        consumer.start()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        return consumer
