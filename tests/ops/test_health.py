"""/healthz answers while the process lives; /readyz fails when the worker or Redis is gone."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from huitouke.ops.models import BackupRecord, Heartbeat
from huitouke.ops.tasks import heartbeat


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path) -> Iterator[dict]:
    """A real redis-server on its own free port; stop() and start() it from the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    server: dict = {"url": f"redis://127.0.0.1:{port}/0", "proc": None}

    def start() -> None:
        server["proc"] = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        server["proc"].terminate()
        server["proc"].wait(timeout=10)

    server["start"], server["stop"] = start, stop
    start()
    yield server
    if server["proc"].poll() is None:
        stop()


def test_healthz_needs_no_login_and_no_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_readyz_follows_the_worker_heartbeat(client, db, settings):
    settings.REDIS_URL = ""
    Heartbeat.objects.all().delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no heartbeat yet"

    heartbeat.call_local()  # the periodic job the worker runs every minute
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["queue_depth"] is not None

    # The worker stopped: its last beat ages past the limit.
    Heartbeat.objects.update(
        beat_at=timezone.now() - timedelta(seconds=settings.HEARTBEAT_MAX_AGE + 5)
    )
    response = client.get("/readyz")
    assert response.status_code == 503 and not response.json()["checks"]["worker"]["ok"]

    heartbeat.call_local()
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_while_redis_is_down(client, db, settings, redis_server):
    heartbeat.call_local()
    settings.REDIS_URL = redis_server["url"]
    assert client.get("/readyz").status_code == 200

    redis_server["stop"]()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False

    redis_server["start"]()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["redis"]["ok"]


def test_readyz_reports_the_last_backup_age(client, db):
    heartbeat.call_local()
    BackupRecord.objects.create(
        file_name="b.tar.gz", vendor="sqlite", created_at=timezone.now() - timedelta(hours=1)
    )
    age = client.get("/readyz").json()["last_backup_age_s"]
    assert 3590 <= age <= 3700


def test_probes_are_exempt_from_the_https_redirect(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    heartbeat.call_local()
    assert client.get("/readyz").status_code == 200
    assert client.get("/customers/").status_code == 301


def test_readyz_answers_only_to_probe_addresses(client, db, settings):
    heartbeat.call_local()
    settings.PROBE_IPS = ["10.1.0.0/16"]
    assert client.get("/readyz", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/readyz", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/healthz", REMOTE_ADDR="203.0.113.9").status_code == 200
