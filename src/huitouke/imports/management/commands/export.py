"""`huitouke export customers|orders FILE.csv|FILE.xlsx [--lang zh|en]`: export with the computed columns (audited)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.models import Organisation
from huitouke.imports.exports import ExportError, do_export


class Command(BaseCommand):
    help = (
        "Export customers (one row each, with lifecycle, RFM, value class, CLV …) or orders (one "
        "row per order line) to a .csv or .xlsx file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["customers", "orders"])
        parser.add_argument("file", help="FILE.csv or FILE.xlsx")
        parser.add_argument(
            "--segment", type=int, default=None, help="Only this segment's members."
        )
        parser.add_argument("--org", default="", help="Organisation name (when there are several).")
        parser.add_argument(
            "--lang",
            choices=["zh", "en"],
            default=None,
            help=(
                "Customers for people in Chinese (zh: headers and values as on screen), or "
                "machine-readable (en: the DESIGN §8 column names and codes). Default: the "
                "language of the installation (LANGUAGE_CODE)."
            ),
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("csv", "xlsx"):
            raise CommandError("The file must end in .csv or .xlsx.")
        organisation = _organisation(opts["org"])
        try:
            count = do_export(
                path,
                kind=opts["kind"],
                fmt=fmt,
                organisation=organisation,
                actor=None,
                segment=opts["segment"],
                lang=opts["lang"],
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"{count} rows → {path}")


def _organisation(name: str) -> Organisation:
    orgs = Organisation.objects.order_by("pk")
    if name:
        found = orgs.filter(name=name).first()
        if found is None:
            raise CommandError(f"No organisation is called {name!r}.")
        return found
    count = orgs.count()
    if count == 0:
        raise CommandError("There is nothing to export yet: the database has no organisation.")
    if count > 1:
        raise CommandError("There is more than one organisation: choose one with --org NAME.")
    return orgs.get()
