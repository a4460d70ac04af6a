"""Backup rotation keeps the newest backup of each of the last 7 days, 4 weeks and 12 months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from huitouke.ops.backup import backup_file_name
from huitouke.ops.rotation import prune, to_keep


def test_a_year_of_daily_backups_keeps_days_weeks_and_months():
    now = datetime(2026, 12, 7, 19, 30, tzinfo=UTC)
    times = [now - timedelta(days=d) for d in range(400)]
    keep = to_keep(times, daily=7, weekly=4, monthly=12)
    assert {now - timedelta(days=d) for d in range(7)} <= keep
    # 7 days + the Sunday of weeks 2-4 (the rest fall in the 7 days) + the last day of 11 older months.
    assert len(keep) == len({(t.year, t.month, t.day) for t in keep})
    months = {(t.year, t.month) for t in keep}
    assert len(months) == 12 and min(keep) > now - timedelta(days=366)
    weeks = {tuple(t.isocalendar()[:2]) for t in keep if t > now - timedelta(days=28)}
    assert len(weeks) >= 4


def test_two_backups_a_day_keep_the_newest(tmp_path):
    day = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    for t in (day, day + timedelta(hours=12)):
        (tmp_path / backup_file_name(t)).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    removed = prune(tmp_path, daily=7, weekly=0, monthly=0)
    assert [p.name for p in removed] == [backup_file_name(day)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        backup_file_name(day + timedelta(hours=12)),
        "notes.txt",
    ]
