"""`huitouke serve`: the production web server (gunicorn) plus, in embedded mode, a worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


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
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        children: list[subprocess.Popen[bytes]] = []
        if not opts["no_worker"] and not settings.REDIS_URL:
            # Embedded mode: the worker shares the SQLite queue; in a cluster run `huitouke worker`.
            children.append(subprocess.Popen([sys.executable, "-m", "huitouke", "run_huey"]))
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "huitouke.wsgi:application",
                "--bind",
                opts["bind"],
                "--workers",
                str(opts["workers"]),
                "--access-logfile",
                "-",
            ]
        )
        children.append(web)
        self.stdout.write(f"Huitouke on http://{opts['bind']}/")
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=20)
