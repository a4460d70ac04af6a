"""`huitouke serve` / `huitouke cluster` as real processes: supervised children, nothing left after.

Each test starts the command on a free port against a migrated copy of the test database (the
test database itself on PostgreSQL), waits for /healthz, and checks through /proc that no
process of its tree survives SIGTERM/SIGINT.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.ops.conftest import pg_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def shop_env(transactional_db, tmp_path) -> dict[str, str]:
    """Environment for a subprocess that sees a migrated copy of the test database.

    On PostgreSQL the subprocess writes into the test database itself (the worker's heartbeat
    and periodic jobs commit): the transactional fixture empties the tables afterwards.
    """
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["HUITOUKE_DATA_DIR"] = str(tmp_path / "data")
    env["HUITOUKE_BACKUP_DAILY"] = "false"
    env["PYTHONPATH"] = os.pathsep.join([str(Path("src").resolve()), env.get("PYTHONPATH", "")])
    (tmp_path / "data").mkdir()
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = pg_url(connection.settings_dict)
    else:
        src = sqlite3.connect(connection.settings_dict["NAME"])
        dst = sqlite3.connect(str(tmp_path / "data" / "huitouke.sqlite3"))
        src.backup(dst)
        dst.close()
        src.close()
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Output goes to a file: a pipe nobody reads would fill up and block the children.
    Path(env["HUITOUKE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    log = open(Path(env["HUITOUKE_DATA_DIR"]).parent / "out.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "huitouke", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    return proc


def _output(env: dict[str, str]) -> str:
    return (Path(env["HUITOUKE_DATA_DIR"]).parent / "out.log").read_text(errors="replace")


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, _output(env)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("no answer on /healthz")


def _stop_and_check(proc: subprocess.Popen[bytes], tree: set[int], sig: int) -> None:
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(running(p) for p in tree):
        time.sleep(0.1)
    left = {p: cmdline(p) for p in tree if running(p)}
    assert left == {}, f"orphans after {signal.Signals(sig).name}: {left}"


def test_cluster_restarts_a_dead_worker_and_leaves_no_child_after_sigterm(shop_env):
    port = _free_port()
    proc = _start(
        ["cluster", "--web", "1", "--workers", "2", "--bind", f"127.0.0.1:{port}"], shop_env
    )
    try:
        _wait_healthy(port, proc, shop_env)
        tree = descendants(proc.pid)
        workers = [p for p in tree if "run_huey" in cmdline(p) and _parent(p) == proc.pid]
        gunicorns = [p for p in tree if "gunicorn" in cmdline(p)]
        assert len(workers) == 2 and len(gunicorns) == 2  # master + 1 web process

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = [
                p
                for p in descendants(proc.pid)
                if "run_huey" in cmdline(p) and _parent(p) == proc.pid
            ]
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the killed worker was not restarted")
        tree |= descendants(proc.pid)
        _stop_and_check(proc, tree, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_serve_leaves_no_child_after_the_signal(shop_env, sig):
    port = _free_port()
    proc = _start(["serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"], shop_env)
    try:
        _wait_healthy(port, proc, shop_env)
        tree = descendants(proc.pid)
        assert any("run_huey" in cmdline(p) for p in tree) and any(
            "gunicorn" in cmdline(p) for p in tree
        )
        _stop_and_check(proc, tree, sig)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cluster_refuses_an_unmigrated_database(shop_env, restore_target, tmp_path):
    env = dict(shop_env, HUITOUKE_DATA_DIR=str(tmp_path / "empty" / "data"))
    if "url" in restore_target:
        env["DATABASE_URL"] = restore_target["url"]
    proc = _start(
        ["cluster", "--web", "1", "--workers", "1", "--bind", f"127.0.0.1:{_free_port()}"], env
    )
    assert proc.wait(timeout=60) == 3
    out = _output(env)
    assert "not applied" in out and "huitouke migrate" in out


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1
