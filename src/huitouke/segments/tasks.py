"""Nightly snapshot of every segment's size."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from huitouke.accounts.models import Organisation
from huitouke.segments.actions import snapshot_segments


@db_periodic_task(crontab(hour="3", minute="10"))
@lock_task("segment-snapshots")
def snapshot_all_segments() -> None:
    for org in Organisation.objects.all():
        snapshot_segments(org, datetime.now(zoneinfo.ZoneInfo(org.time_zone)).date())
