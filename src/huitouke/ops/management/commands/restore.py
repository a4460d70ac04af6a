"""`huitouke restore FILE`: check and restore a backup into a fresh data dir or an empty database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from huitouke.ops.backup import BackupError
from huitouke.ops.restore import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `huitouke backup`: SQLite into a fresh data dir, PostgreSQL "
        "into an empty database. Refuses damaged, altered or foreign files; verifies the counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--data-dir",
            help="Data dir to restore into (default HUITOUKE_DATA_DIR); must hold no database.",
        )
        parser.add_argument(
            "--database-url",
            help="PostgreSQL: the empty database to restore into (default DATABASE_URL).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        data_dir = Path(opts["data_dir"] or settings.DATA_DIR).resolve()
        settings_dict = (
            dj_database_url.parse(opts["database_url"])
            if opts["database_url"]
            else connection.settings_dict
        )
        vendor = "postgresql" if "postgresql" in settings_dict["ENGINE"] else "sqlite"
        try:
            manifest = restore_backup(
                Path(opts["file"]),
                vendor=vendor,
                data_dir=data_dir,
                settings_dict=dict(settings_dict),
            )
        except BackupError as exc:
            raise CommandError(f"Not restored: {exc}") from exc
        where = data_dir if vendor == "sqlite" else settings_dict["NAME"]
        self.stdout.write(
            json.dumps(
                {
                    "restored": str(where),
                    "created_at": manifest["created_at"],
                    "rows": sum(manifest["tables"].values()),
                    "verified": True,
                    "next": "huitouke migrate",
                },
                ensure_ascii=False,
            )
        )
