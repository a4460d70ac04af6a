"""The owner sees the last backup's age on the dashboard, and a warning when it is too old."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from huitouke.ops.models import BackupRecord
from huitouke.ops.tasks import daily_backup


def _status(client, user) -> str:
    client.force_login(user)
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    start = html.find('data-testid="backup-status"')
    return "" if start < 0 else html[start : html.find("</div>", start)]


def test_owner_is_warned_when_no_backup_exists(client, owner):
    status = _status(client, owner)
    assert "No backup has been made yet." in status and 'role="alert"' in status


def test_owner_is_warned_when_the_last_backup_is_three_days_old(client, owner, settings):
    settings.BACKUP_DAILY = True
    BackupRecord.objects.create(
        file_name="old.tar.gz", vendor="sqlite", created_at=timezone.now() - timedelta(days=3)
    )
    status = _status(client, owner)
    assert "Last backup: 3 days ago." in status and "older than 2 days" in status


def test_a_fresh_backup_shows_its_age_quietly(client, owner):
    BackupRecord.objects.create(
        file_name="new.tar.gz", vendor="sqlite", created_at=timezone.now() - timedelta(hours=5)
    )
    status = _status(client, owner)
    assert "Last backup: 5 hours ago." in status and 'role="status"' in status


def test_staff_do_not_see_backups(client, staff_a):
    assert _status(client, staff_a) == ""


def test_without_daily_backups_the_warning_says_whom_to_ask(client, owner, settings):
    settings.BACKUP_DAILY = False
    assert "ask your IT person" in _status(client, owner)


def test_the_daily_job_backs_up_and_rotates(db, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    settings.BACKUP_DAILY = True
    stale = tmp_path / "huitouke-20200101T000000Z.tar.gz"
    stale.write_bytes(b"an old backup")
    settings.BACKUP_KEEP_DAILY = settings.BACKUP_KEEP_WEEKLY = settings.BACKUP_KEEP_MONTHLY = 1
    daily_backup.call_local()
    assert BackupRecord.objects.count() == 1
    assert [str(p) for p in tmp_path.glob("*.tar.gz")] == [BackupRecord.objects.get().file_name]
    assert not stale.exists()
    settings.BACKUP_DAILY = False
    daily_backup.call_local()
    assert BackupRecord.objects.count() == 1


def test_the_warning_speaks_chinese(client, owner):
    client.force_login(owner)
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "还没有做过备份。" in html
