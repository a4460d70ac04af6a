"""/readyz follows a real worker: healthy while it beats, unhealthy once it stops, healthy again.

test_health.py ages the heartbeat row by hand; here the web process (`huitouke cluster` with no
worker of its own) and a separate `huitouke run_huey` are real processes, and the heartbeat is
the worker's own periodic job (every minute, so this test takes one to three minutes).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from tests.ops.test_serve import _free_port, _output, _start, _wait_healthy, shop_env  # noqa: F401


def _ready(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _until(port: int, status: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        got, body = _ready(port)
        if got == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz stayed {got}, not {status}: {body}")
        time.sleep(1)


def test_readyz_turns_unhealthy_when_the_worker_stops(shop_env: dict[str, str]) -> None:  # noqa: F811
    env = {**shop_env, "HUITOUKE_HEARTBEAT_MAX_AGE": "6"}
    port = _free_port()
    web = _start(["cluster", "--web", "1", "--workers", "0", "--bind", f"127.0.0.1:{port}"], env)
    worker: subprocess.Popen[bytes] | None = None
    try:
        _wait_healthy(port, web, env)
        assert _ready(port)[0] == 503  # no worker has beaten yet
        worker = _start(["run_huey"], env)
        body = _until(port, 200, 100)  # its first periodic run, at the next full minute
        assert body["checks"]["worker"]["ok"]

        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=60) == 0
        body = _until(port, 503, 30)  # the last beat ages past 6 s
        assert body["checks"]["worker"]["ok"] is False, body

        worker = _start(["run_huey"], env)
        body = _until(port, 200, 100)
        assert body["checks"]["worker"]["ok"], body
    except AssertionError:
        print(_output(env)[-3000:])
        raise
    finally:
        for proc in (worker, web):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT if proc is worker else signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
