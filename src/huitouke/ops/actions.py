"""Operations writes: record a finished backup, the worker's heartbeat."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from huitouke.ops.backup import create_backup
from huitouke.ops.models import BackupRecord, Heartbeat
from huitouke.ops.rotation import prune


def do_backup(dest_dir: Path | None = None, *, rotate: bool = False) -> Path:
    """Make a backup into dest_dir (HUITOUKE_BACKUP_DIR by default) and record it."""
    folder = Path(dest_dir or settings.BACKUP_DIR)
    path = create_backup(folder)
    # Recorded after the snapshot: the backup never contains its own record.
    BackupRecord.objects.create(
        file_name=str(path), size=path.stat().st_size, vendor=connection.vendor
    )
    if rotate:
        prune(
            folder,
            daily=settings.BACKUP_KEEP_DAILY,
            weekly=settings.BACKUP_KEEP_WEEKLY,
            monthly=settings.BACKUP_KEEP_MONTHLY,
        )
    return path


def do_beat(name: str = "worker") -> None:
    """Record that this process kind is alive now (one row per name, updated in place)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
