"""`huitouke automation_tick [--now ISO] [--send]`: one scheduler tick, by hand (ops, demos, tests)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from huitouke.automation.engine import run_scheduler
from huitouke.messaging.outbox import send_due


class Command(BaseCommand):
    help = "Evaluate time triggers, act on due enrolments and (with --send) send due messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="Act as if it were this time (ISO 8601, local if naive).")
        parser.add_argument("--send", action="store_true", help="Also send the messages now due.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            parsed = parse_datetime(options["now"])
            if parsed is None:
                raise CommandError(f"--now: not a date and time: {options['now']!r}")
            now = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        summary: dict[str, Any] = {"scheduler": run_scheduler(now=now, budget_seconds=300)}
        if options["send"]:
            summary["outbox"] = dict(send_due(now=now, budget_seconds=300))
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
