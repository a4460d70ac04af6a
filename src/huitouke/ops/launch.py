"""What `huitouke serve` and `huitouke cluster` start: the checks before, the children after."""

from __future__ import annotations

import signal
import sys

from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from huitouke.ops.supervisor import Child

EXIT_UNMIGRATED = 3


def unapplied_migrations() -> list[str]:
    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return [f"{m.app_label}.{m.name}" for m, _backwards in plan]
    finally:
        connections.close_all()  # gunicorn forks after this: no connection may be shared


def migration_problem() -> str | None:
    """A message for the operator when migrations are unapplied, else None."""
    pending = unapplied_migrations()
    if not pending:
        return None
    shown = ", ".join(pending[:5]) + (" …" if len(pending) > 5 else "")
    return (
        f"Huitouke will not start: {len(pending)} database migration(s) are not applied ({shown}).\n"
        "Run `huitouke migrate` once for this release (before starting the web processes), "
        "then start them again."
    )


def web_child(bind: str, workers: int) -> Child:
    return Child(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:huitouke.ops.gunicorn_conf",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "huitouke.wsgi:application",
        ],
        stop_signal=signal.SIGTERM,  # gunicorn: finish running requests, then exit
    )


def worker_child(index: int, *, periodic: bool) -> Child:
    argv = [sys.executable, "-m", "huitouke", "run_huey"]
    if not periodic:
        argv.append("--no-periodic")  # one scheduler is enough; the others only run jobs
    # Huey's consumer stops gracefully on SIGINT (SIGTERM would abandon running jobs).
    return Child(f"worker-{index}", argv, stop_signal=signal.SIGINT)
