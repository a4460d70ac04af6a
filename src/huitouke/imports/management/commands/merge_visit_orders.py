"""`huitouke merge_visit_orders [--apply]`: one order per visit for orders imported one per row."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.models import Organisation
from huitouke.imports.visits import do_merge_visit_orders


class Command(BaseCommand):
    help = (
        "Join imported orders of one customer, store and time (one per row of an order book) into "
        "one order with several lines, then recompute stats and tiers. Shows what it would do "
        "unless --apply is given. Prints a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply", action="store_true", help="Merge (without it: a dry run that only counts)."
        )
        parser.add_argument("--org", default="", help="Organisation name (when there are several).")

    def handle(self, *args: Any, **opts: Any) -> None:
        orgs = Organisation.objects.all()
        if opts["org"]:
            orgs = orgs.filter(name=opts["org"])
        if len(found := list(orgs[:2])) != 1:
            raise CommandError(
                "No such organisation." if not found else "Choose the organisation with --org NAME."
            )
        org = found[0]
        outcome = do_merge_visit_orders(org, actor=None, dry_run=not opts["apply"])
        self.stdout.write(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
