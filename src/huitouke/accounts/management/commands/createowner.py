"""`huitouke createowner`: the first owner account (and organisation and store) of an install."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.actions import do_create_owner
from huitouke.accounts.models import User


class Command(BaseCommand):
    help = "Create an owner account (creating the organisation and first store when there is none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", help="Password (asked for when omitted).")
        parser.add_argument(
            "--org", default="", help="Organisation name (default: the only one, or '我的店')."
        )
        parser.add_argument("--store", default="", help="First store name.")

    def handle(self, *args: Any, **opts: Any) -> None:
        password = opts["password"] or getpass.getpass("Password: ")
        if User.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"The username {opts['username']!r} is taken.")
        try:
            user = do_create_owner(
                username=opts["username"],
                password=password,
                org_name=opts["org"],
                store_name=opts["store"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        org, store = user.organisation, user.store
        self.stdout.write(f"Owner {user.username} created for {org.name} / {store.name}.")
