"""`huitouke createowner`: the first owner account (and organisation and store) of an install."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from huitouke.accounts.actions import ensure_default_organisation
from huitouke.accounts.models import Role, User


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
        with transaction.atomic():
            org, store = ensure_default_organisation(opts["org"], opts["store"])
            user = User(
                username=opts["username"],
                organisation=org,
                store=store,
                role=Role.OWNER,
                is_staff=True,
            )
            try:
                from django.contrib.auth.password_validation import validate_password

                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(password)
            user.save()
        self.stdout.write(f"Owner {user.username} created for {org.name} / {store.name}.")
