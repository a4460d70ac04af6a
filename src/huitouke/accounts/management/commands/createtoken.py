"""`huitouke createtoken USERNAME [--name N]`: print a new API token for that user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.models import User
from huitouke.accounts.tokens import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="API", help="A label to recognise the token by.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated.")
        # Run from a shell, so there is no acting user; the audit entry names the token's owner.
        self.stdout.write(create_api_token(user, name, actor=None))
