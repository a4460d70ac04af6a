"""`huitouke import customers|orders FILE`: import a file and print the JSON summary (DESIGN §8)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.actions import ensure_default_organisation
from huitouke.imports.actions import do_commit_import, do_create_cli_job, store_outcome
from huitouke.imports.engine import DEFAULT_CHUNK
from huitouke.imports.readers import FORMATS, LOCAL_LIMITS
from huitouke.imports.summary import ALL_OR_NOTHING, GOOD_ROWS

MODES = {"all": ALL_OR_NOTHING, "good": GOOD_ROWS}


class Command(BaseCommand):
    # Django's system checks (URL patterns, templates, admin) import the whole web side: about
    # 4 s of a CLI import's start on a 2-core machine, for nothing an import uses.
    # `huitouke check` still runs them, as `migrate` skips them too.
    requires_system_checks: list[str] = []
    help = (
        "Import customers or orders from a CSV/XLSX file or a WeChat Pay / Alipay bill. Prints a "
        "JSON summary {created, updated, skipped, errors} and exits with 1 when rows were rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["customers", "orders"])
        parser.add_argument("file", help="The .csv, .txt or .xlsx file.")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
        parser.add_argument(
            "--map",
            dest="mapping",
            default="",
            help="Column corrections: 'column=field,column2=field2' (field '-' ignores a column).",
        )
        parser.add_argument("--sheet", default=None, help="Workbook sheet (default: the first).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and count, write nothing."
        )
        parser.add_argument(
            "--mode",
            choices=sorted(MODES),
            default="all",
            help="all: nothing is imported if any row is bad (default); good: import the good rows.",
        )
        parser.add_argument("--org", default="", help="Organisation name (when there are several).")
        parser.add_argument("--store", default="", help="Store for rows that name none.")
        parser.add_argument(
            "--no-create-customers",
            action="store_true",
            help="Reject rows whose customer is unknown instead of creating her.",
        )
        parser.add_argument(
            "--no-create-products",
            action="store_true",
            help="Keep unknown products as plain item names instead of creating them.",
        )
        parser.add_argument(
            "--one-order-per-row",
            action="store_true",
            help=(
                "Rows without an order number are each an order of their own (by default the rows"
                " of one customer, store and time, or date when no time is given, are one order)."
            ),
        )
        parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="Error messages.")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help=_HIDDEN)

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        org, store = ensure_default_organisation(opts["org"], opts["store"])
        job = None
        if not opts["dry_run"]:
            job = do_create_cli_job(
                path,
                organisation=org,
                store=store,
                kind=opts["kind"],
                fmt=opts["fmt"],
                mode=MODES[opts["mode"]],
                create_customers=not opts["no_create_customers"],
                create_products=not opts["no_create_products"],
                one_order_per_row=opts["one_order_per_row"],
            )
        summary = do_commit_import(
            path,
            organisation=org,
            store=store,
            kind=opts["kind"],
            actor=None,
            fmt=opts["fmt"],
            mapping=opts["mapping"] or None,
            mode=MODES[opts["mode"]],
            dry_run=opts["dry_run"],
            create_customers=not opts["no_create_customers"],
            create_products=not opts["no_create_products"],
            progress=self._progress(opts["chunk_size"]),
            chunk_size=opts["chunk_size"],
            sheet=opts["sheet"],
            job=job,
            one_order_per_row=opts["one_order_per_row"],
            # The owner's own file on her own machine: a sheet as long as Excel allows.
            limits=LOCAL_LIMITS,
        )
        if job is not None:
            store_outcome(job, summary)
        self.stdout.write(json.dumps(summary.as_dict(opts["lang"]), ensure_ascii=False, indent=2))
        if summary.errors:
            sys.exit(1)

    def _progress(self, chunk: int) -> Any:
        last = 0

        def show(done: int, total: int) -> None:
            nonlocal last
            # Only for files longer than one chunk: short imports print just the summary.
            if (done <= chunk and not last) or done == last:
                return
            last = done
            end = "\n" if done >= total else ""
            percent = f" ({done * 100 // total}%)" if total else ""
            self.stderr.write(f"\r导入 importing: {done:,}/{total:,} rows{percent}", ending=end)
            self.stderr.flush()

        return show


_HIDDEN = "Rows per transaction in --mode good (for tests and tuning)."
