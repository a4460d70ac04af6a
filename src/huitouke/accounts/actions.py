"""Writes to organisations, stores and staff accounts."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import transaction

from huitouke.accounts.models import Organisation, Store


def ensure_default_organisation(
    org_name: str = "", store_name: str = ""
) -> tuple[Organisation, Store]:
    """The organisation and store that commands act on: the only ones, named ones, or new defaults.

    On a freshly migrated database the first import or owner creates "我的店" with one store, so
    `huitouke migrate && huitouke import orders FILE` works with nothing else (DESIGN §8).
    """
    with transaction.atomic():
        orgs = Organisation.objects.all()
        if org_name:
            org = orgs.filter(name=org_name).first() or Organisation.objects.create(name=org_name)
        elif orgs.count() == 0:
            org = Organisation.objects.create(name="我的店")
        elif orgs.count() == 1:
            org = orgs.get()
        else:
            raise CommandError("There is more than one organisation: choose one with --org NAME.")
        stores = Store.objects.filter(organisation=org)
        if store_name:
            store = stores.filter(name=store_name).first() or Store.objects.create(
                organisation=org, name=store_name
            )
        elif stores.count() == 0:
            store = Store.objects.create(organisation=org, name="总店")
        elif stores.count() == 1:
            store = stores.get()
        else:
            store = stores.order_by("pk").first()  # type: ignore[assignment]
            if store is None:
                raise CommandError("No store.")
    return org, store
