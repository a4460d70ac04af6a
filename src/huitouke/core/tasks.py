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
from importlib import import_module
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def task_named(name: str) -> Any:
    """The huey task at a dotted path, e.g. "huitouke.loyalty.tasks.reevaluate_organisation_tiers"."""
    module, _, attribute = name.rpartition(".")
    return getattr(import_module(module), attribute)


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue the task `name` with these arguments once the current transaction commits.

    Outside a transaction it is queued at once. A queue that is down is logged: the write has
    committed and is not turned into an error (the periodic jobs catch up on what they cover).
    """

    def enqueue() -> None:
        try:
            task_named(name)(*args, **kwargs)
        except Exception:
            logger.exception("could not queue %s", name)

    transaction.on_commit(enqueue)
