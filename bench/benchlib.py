"""Helpers shared by the benchmarks that fill a fresh SQLite database with raw inserts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BATCH = 50_000


def utc_text(moment: datetime) -> str:
    """A datetime as Django stores it in SQLite (naive UTC text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local calendar day in the organisation's zone."""
    return datetime.combine(day, datetime.min.time(), tzinfo=tz)


def migrate(data_dir: Path) -> None:
    """Create the schema with the project's own migrations, in a child process (always SQLite)."""
    env = dict(os.environ, HUITOUKE_DATA_DIR=str(data_dir))
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, check=True)


def batched(rows: Iterable[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in lists of `size`, for executemany."""
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def create_shop(
    con: Any, name: str, industry: str, time_zone: str, store: str, now: str
) -> tuple[int, int]:
    """Insert one organisation (default analytics settings) and one store; their ids."""
    org = con.execute(
        "INSERT INTO accounts_organisation (name, industry, time_zone, silent_after_days,"
        " churned_after_days, rfm_lookback_days, created_at, rfm_high_low, onboarding_step)"
        " VALUES (?, ?, ?, 90, 180, 365, ?, 'mean', 'done')",
        (name, industry, time_zone, now),
    ).lastrowid
    shop = con.execute(
        "INSERT INTO accounts_store (name, address, phone, sms_signature, created_at,"
        " organisation_id) VALUES (?, '', '', '', ?, ?)",
        (store, now, org),
    ).lastrowid
    return int(org or 0), int(shop or 0)
