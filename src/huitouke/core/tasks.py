"""Side effects after commit: queue a background job once the write that needs it has committed.

Every write that leaves the database (a message, a webhook, a WeCom call, a re-evaluation) is
queued with enqueue_on_commit from inside its transaction: nothing is queued for a write that
rolls back, and the job never reads a row before it is visible. The job is named by its dotted
path ("huitouke.automation.tasks.run_automation_now") and looked up when the commit happens, the
way the huey consumer looks it up, so the module that queues a job never imports the module that
defines it (engine.py ↔ tasks.py was an import cycle). tests/test_architecture.py checks that
every name passed here is a huey task.
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import import_module
from typing import Any

import redis
from django.db import transaction

logger = logging.getLogger(__name__)

# What putting a job on the queue can raise when the queue is down or busy: Redis unreachable
# (chain mode, redis.RedisError), SQLite's queue file locked or unwritable (embedded mode,
# sqlite3.Error), or the socket or file itself (OSError). Anything else is a bug and is raised.
QUEUE_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, sqlite3.Error, OSError)


def task_named(name: str) -> Any:
    """The huey task at a dotted path, e.g. "huitouke.loyalty.tasks.reevaluate_organisation_tiers"."""
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue the task `name` with these arguments once the current transaction commits.

    Outside a transaction it is queued at once. A queue that is down (QUEUE_ERRORS) is logged
    with its traceback: the write has committed and is not turned into an error (the periodic
    jobs catch up on what they cover). A wrong task name is a bug: it is raised.
    """
    task = task_named(name)

    def enqueue() -> None:
        try:
            task(*args, **kwargs)
        except QUEUE_ERRORS:
            logger.exception("could not queue %s", name)

    transaction.on_commit(enqueue)
