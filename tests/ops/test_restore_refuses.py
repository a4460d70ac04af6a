"""`huitouke restore` refuses a truncated, altered or foreign file and never overwrites a database."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from huitouke.ops.backup import create_backup
from tests.ops.conftest import pg_url


@pytest.fixture
def backup(db, tmp_path: Path) -> Path:
    return create_backup(tmp_path / "backups")


@pytest.fixture
def refused(restore_target):
    def check(path: Path, tmp_path: Path, match: str) -> None:
        fresh = restore_target["data_dir"]
        extra = {"database_url": restore_target["url"]} if "url" in restore_target else {}
        with pytest.raises(CommandError, match=match):
            call_command("restore", str(path), data_dir=str(fresh), **extra)
        assert not (fresh / "huitouke.sqlite3").exists()

    return check


def _repack(src: Path, dst: Path, change) -> Path:
    """Copy the backup's members into a new archive, letting change(name, data) alter them."""
    with tarfile.open(src, "r:gz") as tar_in, tarfile.open(dst, "w:gz") as tar_out:
        for member in tar_in:
            data = change(member.name, tar_in.extractfile(member).read())
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            tar_out.addfile(info, io.BytesIO(data))
    return dst


def test_truncated_backup_is_refused(backup, tmp_path, refused):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    refused(cut, tmp_path, "damaged or incomplete")


def test_flipped_bytes_are_refused(backup, tmp_path, refused):
    data = bytearray(backup.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    bad = tmp_path / "flipped.tar.gz"
    bad.write_bytes(bytes(data))
    refused(bad, tmp_path, r"damaged|altered|incomplete")


def test_tampered_database_with_the_old_manifest_is_refused(backup, tmp_path, refused):
    def change(name: str, data: bytes) -> bytes:
        if name.startswith("db."):
            return data[:-1] + bytes([data[-1] ^ 1])
        return data

    refused(_repack(backup, tmp_path / "tampered.tar.gz", change), tmp_path, "altered")


def test_edited_counts_in_the_manifest_are_refused(backup, tmp_path, refused):
    def change(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["tables"]["django_migrations"] += 1
            return json.dumps(manifest).encode()
        return data

    refused(_repack(backup, tmp_path / "counts.tar.gz", change), tmp_path, "does not match")


def test_foreign_files_are_refused(db, tmp_path, refused):
    text = tmp_path / "notes.tar.gz"
    text.write_text("not a backup at all")
    refused(text, tmp_path, "damaged or incomplete")
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("../../etc/passwd")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    refused(other, tmp_path, "not a Huitouke backup")


def test_a_backup_of_the_other_vendor_is_refused(backup, tmp_path, refused):
    def change(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["vendor"] = "oracle"
            return json.dumps(manifest).encode()
        return data

    refused(_repack(backup, tmp_path / "vendor.tar.gz", change), tmp_path, "oracle backup")


def test_restore_never_overwrites_a_database(backup, tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "huitouke.sqlite3").write_bytes(b"the shop's live database")
    with pytest.raises(CommandError, match=r"already exists|not empty"):
        if connection.vendor == "sqlite":
            call_command("restore", str(backup), data_dir=str(fresh))
        else:
            # The test database itself is not empty.
            url = pg_url(connection.settings_dict)
            call_command("restore", str(backup), data_dir=str(fresh), database_url=url)
    assert (fresh / "huitouke.sqlite3").read_bytes() == b"the shop's live database"
