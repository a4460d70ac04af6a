"""Readiness checks for a load balancer: database, Redis, the worker's heartbeat, queue, backups."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from huitouke.core.tasks import QUEUE_ERRORS
from huitouke.ops.models import BackupRecord, Heartbeat

log = logging.getLogger(__name__)


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:  # any driver error (Django wraps them all) means "not ready"
        log.warning("readiness: the database does not answer", exc_info=True)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_redis(url: str) -> dict[str, Any]:

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()
    return {"ok": True}


def check_heartbeat(max_age: int) -> dict[str, Any]:
    beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    if beat is None:
        return {"ok": False, "age_s": None, "error": "no heartbeat yet"}
    age = (timezone.now() - beat).total_seconds()
    return {"ok": age <= max_age, "age_s": round(age, 1), "max_age_s": max_age}


def queue_depth() -> int | None:
    """Jobs waiting in Huey's queue (None when the queue cannot be read)."""

    try:
        return int(HUEY.pending_count())
    except QUEUE_ERRORS:
        # Reported as unknown; the Redis check says whether the queue's server answers.
        log.warning("the queue's length could not be read", exc_info=True)
        return None


def last_backup_age() -> timedelta | None:
    created = BackupRecord.objects.values_list("created_at", flat=True).first()
    return None if created is None else timezone.now() - created


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, details). Backup age is reported, never a reason to take a web process out."""
    checks: dict[str, Any] = {"database": check_database()}
    if checks["database"]["ok"]:
        checks["worker"] = check_heartbeat(settings.HEARTBEAT_MAX_AGE)
    if settings.REDIS_URL:
        checks["redis"] = check_redis(settings.REDIS_URL)
    ready = all(c["ok"] for c in checks.values())
    depth = queue_depth() if checks.get("redis", {"ok": True})["ok"] else None
    age = last_backup_age() if checks["database"]["ok"] else None
    return ready, {
        "ready": ready,
        "checks": checks,
        "queue_depth": depth,
        "last_backup_age_s": None if age is None else int(age.total_seconds()),
    }
