"""Which backups to keep: the newest of each of the last N days, weeks and months (GFS rotation)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from huitouke.ops.backup import SUFFIX

NAME = re.compile(r"^huitouke-(\d{8}T\d{6}Z)" + re.escape(SUFFIX) + "$")


def backup_time(path: Path) -> datetime | None:
    match = NAME.match(path.name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def to_keep(times: Iterable[datetime], *, daily: int, weekly: int, monthly: int) -> set[datetime]:
    """The newest backup of each of the `daily` newest days, `weekly` weeks and `monthly` months."""
    newest_first = sorted(set(times), reverse=True)
    keep: set[datetime] = set()
    buckets: list[tuple[int, Callable[[datetime], tuple[int, ...]]]] = [
        (daily, lambda t: (t.year, t.month, t.day)),
        (weekly, lambda t: tuple(t.isocalendar()[:2])),
        (monthly, lambda t: (t.year, t.month)),
    ]
    for limit, key in buckets:
        seen: set[tuple[int, ...]] = set()
        for t in newest_first:
            k = key(t)
            if k in seen:
                continue
            if len(seen) >= limit:
                break
            seen.add(k)
            keep.add(t)
    return keep


def prune(folder: Path, *, daily: int, weekly: int, monthly: int) -> list[Path]:
    """Delete the backups in folder that the rotation does not keep; other files are left alone."""
    dated = {p: t for p in folder.glob(f"huitouke-*{SUFFIX}") if (t := backup_time(p))}
    keep = to_keep(dated.values(), daily=daily, weekly=weekly, monthly=monthly)
    removed = []
    for path, t in sorted(dated.items()):
        if t not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
