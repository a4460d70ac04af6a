"""`huitouke restore`: check a backup file from end to end, restore it, and prove the counts.

Nothing is written before the whole file has been read and every checksum matched, so a
truncated, tampered or foreign file is refused without touching anything. SQLite restores into a
fresh data dir; PostgreSQL into an empty database (pg_restore in one transaction).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

import psycopg
from django.db.migrations.loader import MigrationLoader

from huitouke.ops.backup import (
    DB_MEMBER,
    FORMAT,
    FORMAT_VERSION,
    KEY_FILES,
    MANIFEST,
    BackupError,
    Snapshot,
    pg_snapshot,
    sqlite_snapshot,
)
from huitouke.ops.pgtools import connect_kwargs, libpq_env, pg_binary

ALLOWED_MEMBERS = {MANIFEST, *DB_MEMBER.values(), *KEY_FILES}


def read_backup(path: Path, into: Path) -> dict[str, Any]:
    """Unpack path into the folder `into` and return its manifest, or raise BackupError."""
    manifest: dict[str, Any] | None = None
    digests: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                # Only the plain files a backup holds: no links, folders or paths that climb out.
                if not member.isfile() or member.name not in ALLOWED_MEMBERS:
                    raise BackupError(
                        f"{path.name} is not a Huitouke backup (unexpected {member.name!r})"
                    )
                fh = tar.extractfile(member)
                assert fh is not None
                if member.name == MANIFEST:
                    manifest = json.loads(fh.read(1 << 22))
                    continue
                digest, size = hashlib.sha256(), 0
                with (into / member.name).open("wb") as out:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                digests[member.name] = (digest.hexdigest(), size)
            # tarfile stops quietly at a damaged header; reading the gzip stream to its end
            # checks its CRC and length trailer, which catch truncation and flipped bytes.
            assert tar.fileobj is not None
            while tar.fileobj.read(1 << 20):
                pass
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as exc:
        raise BackupError(f"{path.name} is damaged or incomplete ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path.name} is not a Huitouke backup (no manifest)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path.name} has backup format {manifest.get('format_version')!r}")
    expected = manifest.get("files") or {}
    if set(expected) != set(digests):
        raise BackupError(f"{path.name} is incomplete: files differ from its manifest")
    for name, meta in expected.items():
        if digests[name] != (meta.get("sha256"), meta.get("size")):
            raise BackupError(f"{path.name} was altered: {name} does not match its checksum")
    return manifest


def _check_known_migrations(manifest: dict[str, Any]) -> None:

    known = {
        f"{a}.{n}" for a, n in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    unknown = sorted(set(manifest.get("migrations") or []) - known)
    if unknown:
        raise BackupError(
            "this backup was made by a newer Huitouke "
            f"({manifest.get('app_version')}); upgrade first (unknown: {', '.join(unknown[:3])})"
        )


def _verify(manifest: dict[str, Any], got: Snapshot) -> None:
    if got.tables != manifest["tables"] or got.sums != manifest["sums"]:
        diff = sorted(
            t
            for t in set(got.tables) | set(manifest["tables"])
            if got.tables.get(t) != manifest["tables"].get(t)
        )
        raise BackupError(f"the restored database does not match the backup's counts: {diff[:5]}")


def restore_sqlite(manifest: dict[str, Any], unpacked: Path, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "huitouke.sqlite3"
    if target.exists() or target.with_name(target.name + "-wal").exists():
        raise BackupError(
            f"{target} already exists: restore into a fresh data dir (--data-dir) "
            "or move the old database away first"
        )
    db = unpacked / DB_MEMBER["sqlite"]
    _verify(manifest, sqlite_snapshot(db))
    conn = sqlite3.connect(str(db))
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the database in the backup fails SQLite's integrity check")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    partial = data_dir / "huitouke.sqlite3.restoring"
    shutil.copyfile(db, partial)
    os.replace(partial, target)
    _restore_keys(unpacked, data_dir)
    _verify(manifest, sqlite_snapshot(target))
    return target


def restore_postgresql(
    manifest: dict[str, Any], unpacked: Path, settings_dict: dict[str, Any]
) -> None:

    with psycopg.connect(**connect_kwargs(settings_dict)) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
        if n and n[0]:
            raise BackupError(
                f"database {settings_dict['NAME']} is not empty ({n[0]} tables): "
                "restore into a new, empty database"
            )
    result = subprocess.run(
        [
            pg_binary("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",  # all or nothing
            f"--dbname={settings_dict['NAME']}",
            str(unpacked / DB_MEMBER["postgresql"]),
        ],
        env=libpq_env(settings_dict),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:2000]}")
    with psycopg.connect(**connect_kwargs(settings_dict)) as conn, conn.cursor() as cursor:
        _verify(manifest, pg_snapshot(cursor))


def _restore_keys(unpacked: Path, data_dir: Path) -> None:
    # The backup's keys decrypt its secrets. Starting the command already generated fresh keys
    # into an empty data dir; a different key found there is kept beside as NAME.before-restore.
    for name in KEY_FILES:
        src, dst = unpacked / name, data_dir / name
        if not src.is_file():
            continue
        if dst.exists():
            if dst.read_bytes() == src.read_bytes():
                continue
            os.replace(dst, dst.with_name(name + ".before-restore"))
        shutil.copyfile(src, dst)
        dst.chmod(0o600)


def restore_backup(
    path: Path, *, vendor: str, data_dir: Path, settings_dict: dict[str, Any]
) -> dict[str, Any]:
    """Restore the backup at path into data_dir (SQLite) or the database in settings_dict."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with tempfile.TemporaryDirectory(prefix="huitouke-restore-") as tmp:
        unpacked = Path(tmp)
        manifest = read_backup(path, unpacked)
        if manifest.get("vendor") != vendor:
            raise BackupError(
                f"this is a {manifest.get('vendor')} backup; the configured database is {vendor}"
            )
        _check_known_migrations(manifest)
        if vendor == "sqlite":
            restore_sqlite(manifest, unpacked, data_dir)
        else:
            restore_postgresql(manifest, unpacked, settings_dict)
            data_dir.mkdir(parents=True, exist_ok=True)
            _restore_keys(unpacked, data_dir)
    return manifest
