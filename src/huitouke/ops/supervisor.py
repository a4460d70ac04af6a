"""A small process supervisor for `huitouke serve` and `huitouke cluster`.

It starts each child (gunicorn, Huey consumers) in its own process group, restarts one that dies
(with a growing pause if it keeps dying), and on SIGTERM/SIGINT asks every child to stop
gracefully — gunicorn on SIGTERM, Huey's consumer on SIGINT (its graceful signal) — then kills
whatever is left of each group after the grace period. On Linux each child also gets
PR_SET_PDEATHSIG, so even a supervisor killed with -9 leaves no orphan serving on.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    stop_signal: int = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float = 0.0
    history: list[int] = field(default_factory=list)  # pids, for tests and logs

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, start_new_session=True, preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        self.history.append(self.proc.pid)
        log.info("started %s (pid %s)", self.name, self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    def __init__(self, children: list[Child], *, grace: float = 30.0, out=None) -> None:
        self.children = children
        self.grace = grace
        self.stopping = False
        self.out = out or sys.stdout

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Start every child and keep them running until SIGTERM/SIGINT; returns the exit code."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                child.start()
            while not self.stopping:
                self._tend()
                time.sleep(0.2)
        finally:
            self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 0

    def _tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.alive():
                continue
            if child.restart_at == 0.0:
                code = child.proc.returncode if child.proc else None
                # A child that ran a minute is forgiven its earlier crashes.
                child.failures = 0 if now - child.started_at > 60 else child.failures + 1
                pause = min(30.0, 0.5 * 2 ** min(child.failures, 6))
                child.restart_at = now + pause
                self.out.write(f"{child.name} exited ({code}); restarting in {pause:.1f} s\n")
                self.out.flush()
            elif now >= child.restart_at:
                child.restart_at = 0.0
                child.start()

    def _stop_all(self) -> None:
        for child in self.children:
            if child.alive():
                assert child.proc is not None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, child.stop_signal)
        deadline = time.monotonic() + self.grace
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %s s; killing it", child.name, self.grace)
            # Whatever is left in the child's group (a stuck gunicorn worker) goes now.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
