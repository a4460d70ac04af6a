"""What the operations side remembers: the worker's heartbeat and the backups made."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """One row per beating process kind ("worker"): when it last proved it runs periodic jobs."""

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class BackupRecord(models.Model):
    """A finished backup file (written after the snapshot, so a restore does not contain itself)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    file_name = models.CharField(max_length=1024)
    size = models.BigIntegerField(default=0)
    vendor = models.CharField(max_length=20)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name
