"""The broad or narrowed `except` blocks (issue 14 review): each catches only what it must, and
what it catches is logged with its traceback.

- core.tasks.enqueue_on_commit: a queue that is down is logged and the write stands; a wrong
  task name, or any other error, is raised;
- ops.health: an unreadable queue length is "unknown" (logged); a database error "not ready";
- ops.tasks.daily_backup, imports.export_jobs.run_export_job: logged and re-raised (the export
  job is marked failed and its half-written file removed);
- followups.sop.run_all: one organisation failing leaves the others their tasks.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
import redis
from django.db import DatabaseError, transaction
from huey.contrib.djhuey import HUEY

from huitouke.accounts.models import Organisation
from huitouke.core import tasks as core_tasks
from huitouke.followups import sop
from huitouke.imports import export_jobs
from huitouke.imports.models import ExportJob, ExportStatus
from huitouke.ops import health
from huitouke.ops import tasks as ops_tasks
from tests.helpers import make_customer

pytestmark = pytest.mark.django_db

TASK = "huitouke.ops.tasks.heartbeat"


def committed() -> None:
    """Run the latest on-commit callback as a commit would (a test's transaction never commits)."""
    for _sid, callback, _robust in transaction.get_connection().run_on_commit[-1:]:
        callback()


def with_traceback(caplog: Any, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage() and r.exc_info]


@pytest.mark.parametrize(
    "error", [redis.ConnectionError("refused"), sqlite3.OperationalError("database is locked")]
)
def test_a_queue_that_is_down_is_logged_and_the_write_stands(
    monkeypatch: Any, caplog: Any, error: Exception
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(HUEY, "enqueue", down)
    with caplog.at_level(logging.ERROR, logger="huitouke.core.tasks"):
        with transaction.atomic():
            org = Organisation.objects.create(name="排队")
            core_tasks.enqueue_on_commit(TASK)
        committed()
    assert Organisation.objects.filter(pk=org.pk).exists()
    assert with_traceback(caplog, f"could not queue {TASK}")


def test_a_bug_when_queueing_is_raised_not_swallowed(monkeypatch: Any) -> None:
    with pytest.raises((ImportError, AttributeError)):
        core_tasks.enqueue_on_commit("huitouke.ops.tasks.no_such_task")

    def bug(*_args: Any, **_kwargs: Any) -> None:
        raise TypeError("cannot pickle")

    monkeypatch.setattr(HUEY, "enqueue", bug)
    core_tasks.enqueue_on_commit(TASK)
    with pytest.raises(TypeError):
        committed()


def test_an_unreadable_queue_length_is_unknown_and_logged(monkeypatch: Any, caplog: Any) -> None:
    def down() -> int:
        raise redis.ConnectionError("refused")

    monkeypatch.setattr(HUEY, "pending_count", down)
    with caplog.at_level(logging.WARNING, logger="huitouke.ops.health"):
        assert health.queue_depth() is None
    assert with_traceback(caplog, "queue's length")

    def bug() -> int:
        raise ValueError("not a number")

    monkeypatch.setattr(HUEY, "pending_count", bug)
    with pytest.raises(ValueError):
        health.queue_depth()


def test_a_database_that_does_not_answer_is_not_ready_and_logged(
    monkeypatch: Any, caplog: Any
) -> None:
    class Broken:
        def __enter__(self) -> Any:
            raise DatabaseError("server closed the connection")

        def __exit__(self, *_exc: Any) -> None:
            return None

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    with caplog.at_level(logging.WARNING, logger="huitouke.ops.health"):
        assert health.check_database() == {"ok": False, "error": "DatabaseError"}
    assert with_traceback(caplog, "database does not answer")


def test_a_failed_backup_is_logged_and_raised(monkeypatch: Any, caplog: Any, settings: Any) -> None:
    settings.BACKUP_DAILY = True

    def full(**_kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ops_tasks, "do_backup", full)
    with caplog.at_level(logging.ERROR, logger="huitouke.ops.tasks"), pytest.raises(OSError):
        ops_tasks.daily_backup.call_local()
    assert with_traceback(caplog, "daily backup into")


def test_an_export_that_breaks_is_failed_logged_and_raised(
    monkeypatch: Any, caplog: Any, settings: Any, tmp_path: Any, owner: Any, org: Any
) -> None:
    settings.DATA_DIR = tmp_path
    make_customer(org, name="林晓雨")
    job = export_jobs.do_request_export(actor=owner, kind="customers", fmt="csv")

    def half_then_bug(partial: Any, **_kwargs: Any) -> int:
        partial.write_text("姓名\n林")
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(export_jobs, "do_export", half_then_bug)
    with (
        caplog.at_level(logging.ERROR, logger="huitouke.imports.export_jobs"),
        pytest.raises(RuntimeError),
    ):
        export_jobs.run_export_job(job.pk)
    job = ExportJob.objects.get(pk=job.pk)
    assert job.status == ExportStatus.FAILED and job.message
    assert not list(tmp_path.glob("exports/*"))  # the .part file went
    assert with_traceback(caplog, f"export job {job.pk} failed")


def test_one_organisation_failing_leaves_the_others_their_sop_run(
    monkeypatch: Any, caplog: Any
) -> None:
    broken = Organisation.objects.create(name="坏")
    fine = Organisation.objects.create(name="好")
    ran: list[int] = []

    def run_sops(organisation: Organisation, *, now: Any = None) -> int:
        if organisation.pk == broken.pk:
            raise ValueError("a segment that no longer compiles")
        ran.append(organisation.pk)
        return 3

    monkeypatch.setattr(sop, "run_sops", run_sops)
    with caplog.at_level(logging.ERROR, logger=sop.logger.name):
        assert sop.run_all() == 3
    assert fine.pk in ran
    assert with_traceback(caplog, f"SOP run failed for organisation {broken.pk}")
