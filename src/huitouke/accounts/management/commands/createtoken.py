"""`huitouke createtoken USERNAME [--name N] [--scope read|pos|full] [--days D]`: print a new token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huitouke.accounts.models import TokenScope, User
from huitouke.accounts.tokens import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="API", help="A label to recognise the token by.")
        parser.add_argument(
            "--scope",
            default=TokenScope.FULL,
            choices=TokenScope.values,
            help="read: GET only; pos: also orders, refunds, points, coupons; full (default).",
        )
        parser.add_argument("--days", type=int, default=None, help="Expire after D days.")

    def handle(
        self,
        *args: Any,
        username: str,
        name: str,
        scope: str = TokenScope.FULL,
        days: int | None = None,
        **options: Any,
    ) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        # Run from a shell, so there is no acting user; the audit entry names the token's owner.
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        expires = timezone.now() + timedelta(days=days) if days else None
        self.stdout.write(create_api_token(user, name, actor=None, scope=scope, expires_at=expires))
