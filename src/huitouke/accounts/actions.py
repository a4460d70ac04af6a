"""Writes to organisations, stores and staff accounts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.management.base import CommandError
from django.db import transaction

from huitouke.accounts.models import Organisation, Role, Store, User
from huitouke.audit.actions import record_audit


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


def do_create_owner(
    *, username: str, password: str, org_name: str = "", store_name: str = "", actor: Any = None
) -> User:
    """An owner account (with the organisation and store when there is none); audited.

    ValidationError when the password is too weak for her; the username is checked by the caller.
    """
    with transaction.atomic():
        org, store = ensure_default_organisation(org_name, store_name)
        user = User(
            username=username, organisation=org, store=store, role=Role.OWNER, is_staff=True
        )
        validate_password(password, user)
        user.set_password(password)
        user.save()
        record_audit(
            actor=actor,
            organisation=org,
            action="owner_create",
            target=user,
            detail={"store": store.pk},
        )
    return user


def do_save_organisation(
    org: Organisation, *, actor: Any, changed: list[str], request: Any = None
) -> Organisation:
    """Save the shop settings the owner changed (`changed`: the field names); audited with them."""
    with transaction.atomic():
        org.save()
        record_audit(
            actor=actor,
            organisation=org,
            action="settings",
            target=org,
            request=request,
            detail={"fields": changed},
        )
    return org
