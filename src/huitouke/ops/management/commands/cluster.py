"""`huitouke cluster --web N --workers M`: N gunicorn web processes and M Huey workers, supervised.

The chain topology on one host, against DATABASE_URL and REDIS_URL. It never migrates: run
`huitouke migrate` first (it refuses to start otherwise).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.ops.launch import migration_problem, web_child, worker_child
from huitouke.ops.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run N web processes (gunicorn) and M background workers until SIGTERM/SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--web", type=int, default=2, help="gunicorn worker processes.")
        parser.add_argument("--workers", type=int, default=2, help="Huey worker processes.")
        parser.add_argument(
            "--grace",
            type=float,
            default=30.0,
            help="Seconds a child gets to stop before it is killed.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if problem := migration_problem():
            raise CommandError(problem, returncode=3)
        if (
            settings.PRODUCTION
        ):  # the manifest storage needs collected files; finders serve otherwise
            call_command("collectstatic", interactive=False, verbosity=0)
        children = []
        if opts["web"] > 0:
            children.append(web_child(opts["bind"], opts["web"]))
        # The first worker runs the periodic scheduler; the others only take jobs off the queue.
        children += [worker_child(i + 1, periodic=i == 0) for i in range(opts["workers"])]
        if not children:
            raise CommandError("nothing to run: give --web or --workers a number above 0")
        self.stdout.write(
            f"Huitouke cluster on http://{opts['bind']}/: {opts['web']} web, {opts['workers']} workers"
        )
        self.stdout.flush()
        Supervisor(children, grace=opts["grace"], out=self.stdout).run()
