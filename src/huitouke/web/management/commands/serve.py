"""`huitouke serve`: the production web server (gunicorn) plus, in embedded mode, a worker.

Embedded (SQLite) applies its migrations on start — one shop, one machine, nothing to race. On
PostgreSQL migrations are a release step (`huitouke migrate`) and serve refuses to start while
any is unapplied. Children are supervised: restarted when they die, stopped on SIGTERM/SIGINT.
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
    help = "Serve Huitouke with gunicorn; without REDIS_URL a Huey worker runs beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the background worker."
        )

    def handle(self, *args: Any, **opts: Any) -> None:

        if settings.EMBEDDED:
            call_command("migrate", interactive=False, verbosity=0)
        elif problem := migration_problem():
            raise CommandError(problem, returncode=3)
        if (
            settings.PRODUCTION
        ):  # the manifest storage needs collected files; finders serve otherwise
            call_command("collectstatic", interactive=False, verbosity=0)
        children = [web_child(opts["bind"], opts["workers"])]
        if not opts["no_worker"] and not settings.REDIS_URL:
            # Embedded mode: the worker shares the SQLite queue; in a cluster run `huitouke worker`.
            children.append(worker_child(1, periodic=True))
        self.stdout.write(f"Huitouke on http://{opts['bind']}/")
        self.stdout.flush()
        Supervisor(children, out=self.stdout).run()
