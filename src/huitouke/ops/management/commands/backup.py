"""`huitouke backup [DIR]`: a consistent snapshot of the live database into DIR."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.ops.actions import do_backup
from huitouke.ops.backup import BackupError
from huitouke.ops.restore import read_backup


class Command(BaseCommand):
    help = "Back up the database (while the shop keeps working) into DIR or HUITOUKE_BACKUP_DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "dir", nargs="?", help=f"Folder for the backup (default {settings.BACKUP_DIR})."
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Afterwards delete backups the rotation does not keep.",
        )
        parser.add_argument(
            "--check", metavar="FILE", help="Only check FILE: complete, unaltered, ours."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["check"]:
                with tempfile.TemporaryDirectory() as tmp:
                    manifest = read_backup(Path(opts["check"]), Path(tmp))
                self.stdout.write(json.dumps(_summary(manifest, opts["check"]), ensure_ascii=False))
                return
            path = do_backup(Path(opts["dir"]) if opts["dir"] else None, rotate=opts["rotate"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        with tempfile.TemporaryDirectory() as tmp:
            manifest = read_backup(path, Path(tmp))
        self.stdout.write(json.dumps(_summary(manifest, str(path)), ensure_ascii=False))


def _summary(manifest: dict[str, Any], path: str) -> dict[str, Any]:
    return {
        "file": path,
        "created_at": manifest["created_at"],
        "vendor": manifest["vendor"],
        "app_version": manifest["app_version"],
        "rows": sum(manifest["tables"].values()),
        "tables": len(manifest["tables"]),
    }
