"""The benchmarks' command lines stay usable: --help answers and documents the quick modes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _help(script: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cluster_help_documents_the_short_run_and_the_automation_checks() -> None:
    text = _help("cluster.py")
    assert "--short" in text and "--drain" in text
    assert "no SMS accepted twice" in text and "exits 1" in text


def test_wecom_and_order_path_help() -> None:
    assert "--profile" in _help("wecom.py")
    assert "--database-url" in _help("order_path.py")
