"""`huitouke backup`: a consistent snapshot of the live database, compressed, with a manifest.

A backup is one gzip-compressed tar file holding `manifest.json`, the database (`db.sqlite3`,
made with SQLite's online backup API, or `db.pgdump`, made by `pg_dump -Fc`) and the data
dir's key files (without them the secrets stored encrypted in the database cannot be read after
a restore). The manifest lists, for the snapshot itself, every table's row count and a few
ledger sums, and the sha256 of every file, so `huitouke restore` can refuse a damaged or
foreign file and prove the restored database is the one that was saved.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

import huitouke
from huitouke.ops.pgtools import connect_kwargs, libpq_env, pg_binary

FORMAT = "huitouke-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "db.sqlite3", "postgresql": "db.pgdump"}
KEY_FILES = ("secret_key", "field_key")
SUFFIX = ".tar.gz"
# Ledger sums checked after a restore, in integer units (cents for money) so they compare exactly.
SUMS = {
    "sales_order.net_paid_cents": ("sales_order", "ROUND(net_paid * 100)"),
    "loyalty_pointsentry.points": ("loyalty_pointsentry", "points"),
    "loyalty_loyaltyaccount.balance": ("loyalty_loyaltyaccount", "balance"),
}


class BackupError(Exception):
    """A backup could not be made or a file is not a usable backup (message for the user)."""


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, int]
    sums: dict[str, int]


def backup_file_name(at: datetime) -> str:
    return f"huitouke-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sqlite_snapshot(path: Path) -> Snapshot:
    """Row counts and ledger sums of a SQLite file (the snapshot itself, not the live file)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        tables = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        sums = {
            key: int(conn.execute(f'SELECT coalesce(sum({expr}), 0) FROM "{t}"').fetchone()[0])
            for key, (t, expr) in SUMS.items()
            if t in tables
        }
    finally:
        conn.close()
    return Snapshot(tables, sums)


def pg_snapshot(cursor: Any) -> Snapshot:
    """Row counts and ledger sums read through a cursor inside the snapshot's transaction."""

    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    names = [r[0] for r in cursor.fetchall()]
    tables: dict[str, int] = {}
    for name in names:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name)))
        tables[name] = cursor.fetchone()[0]
    sums: dict[str, int] = {}
    for key, (table, expr) in SUMS.items():
        if table in tables:
            cursor.execute(
                sql.SQL("SELECT coalesce(sum({}), 0) FROM {}").format(
                    sql.SQL(expr), sql.Identifier(table)
                )
            )
            sums[key] = int(cursor.fetchone()[0])
    return Snapshot(tables, sums)


def _dump_sqlite(work: Path) -> tuple[Path, Snapshot]:
    source = Path(connection.settings_dict["NAME"])
    target = work / DB_MEMBER["sqlite"]
    # The online backup API copies a consistent image in one step (pages=-1) while writers go on:
    # in WAL mode the copy reads a snapshot and never blocks them, nor they it.
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target, sqlite_snapshot(target)


def _dump_postgresql(work: Path) -> tuple[Path, Snapshot]:

    params = connection.settings_dict
    target = work / DB_MEMBER["postgresql"]
    # Counts and dump must see the same instant: a REPEATABLE READ transaction exports its
    # snapshot, counts inside it, and pg_dump --snapshot reads exactly that snapshot.
    with psycopg.connect(**connect_kwargs(params)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]  # type: ignore[index]
            snapshot = pg_snapshot(cursor)
            result = subprocess.run(
                [
                    pg_binary("pg_dump"),
                    "--format=custom",
                    "--compress=0",  # the tar around it is compressed
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_id}",
                    f"--file={target}",
                ],
                env=libpq_env(params),
                capture_output=True,
                text=True,
            )
        conn.rollback()
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return target, snapshot


def applied_migrations() -> list[str]:

    return sorted(f"{a}.{n}" for a, n in MigrationRecorder(connection).applied_migrations())


def create_backup(dest_dir: Path) -> Path:
    """Write one backup file into dest_dir and return its path (never a half-written file)."""
    vendor = connection.vendor
    if vendor not in DB_MEMBER:
        raise BackupError(f"backups of {vendor} databases are not supported")
    dest_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".backup-") as tmp:
        work = Path(tmp)
        migrations = applied_migrations()
        db_file, snapshot = (_dump_sqlite if vendor == "sqlite" else _dump_postgresql)(work)
        members = [db_file] + [
            settings.DATA_DIR / k for k in KEY_FILES if (settings.DATA_DIR / k).is_file()
        ]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": started.isoformat(),
            "app_version": huitouke.__version__,
            "vendor": vendor,
            "tables": snapshot.tables,
            "sums": snapshot.sums,
            "migrations": migrations,
            "files": {m.name: {"sha256": sha256_of(m), "size": m.stat().st_size} for m in members},
        }
        partial = work / "backup.partial"
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(started.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for member in members:
                tar.add(member, arcname=member.name, recursive=False)
        final = dest_dir / backup_file_name(started)
        os.chmod(partial, 0o600)  # it holds every customer's data and the keys
        os.replace(partial, final)
    return final
