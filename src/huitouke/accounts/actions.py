"""Writes to organisations, stores and staff accounts, each with its actor and audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import CommandError
from django.db import models, transaction
from django.utils import timezone

from huitouke.accounts.models import ApiToken, Organisation, Role, Store, User
from huitouke.accounts.tokens import create_api_token, revoke_api_token
from huitouke.audit.actions import audit_value, record_audit

STAFF_FIELDS = ("username", "display_name", "phone", "role", "store", "is_active")
STORE_FIELDS = ("name", "address", "phone", "sms_signature")


def field_changes(
    before: dict[str, Any] | None, instance: models.Model, fields: tuple[str, ...]
) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value differs (all of them for a new object).

    Foreign keys compare and record by id; values are clipped to 200 characters.
    """
    changes = {}
    for name in fields:
        attname = instance._meta.get_field(name).attname  # type: ignore[union-attr]
        new = getattr(instance, attname)
        old = None if before is None else before.get(attname)
        if before is None or old != new:
            changes[name] = [audit_value(old), audit_value(new)]
    return changes


def _before(model: type[models.Model], pk: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    if pk is None:
        return None
    attnames = [model._meta.get_field(f).attname for f in fields]  # type: ignore[union-attr]
    return model._default_manager.filter(pk=pk).values(*attnames).first()  # type: ignore[no-any-return]


def do_save_staff(user: User, *, actor: Any, password: str = "", request: Any = None) -> User:
    """Create or edit a staff account (the form's unsaved instance) and audit the fields changed.

    A password set by the owner for an existing account is audited as a reset (never the
    password itself); it also signs the account out of every other session.
    """
    with transaction.atomic():
        before = _before(User, user.pk, STAFF_FIELDS)
        creating = before is None
        changes = field_changes(before, user, STAFF_FIELDS)
        if password:
            user.set_password(password)
        user.save()
        if creating or changes:
            record_audit(
                actor=actor,
                organisation=user.organisation,
                action="staff_create" if creating else "staff_edit",
                target=user,
                request=request,
                detail={"changes": changes},
            )
        if password and not creating:
            record_audit(
                actor=actor,
                organisation=user.organisation,
                action="staff_password_reset",
                target=user,
                request=request,
            )
    return user


def do_save_store(store: Store, *, actor: Any, request: Any = None) -> Store:
    """Create or edit a store (the form's unsaved instance) and audit the fields changed."""
    with transaction.atomic():
        before = _before(Store, store.pk, STORE_FIELDS)
        changes = field_changes(before, store, STORE_FIELDS)
        store.save()
        if before is None or changes:
            record_audit(
                actor=actor,
                organisation=store.organisation,
                action="store_create" if before is None else "store_edit",
                target=store,
                request=request,
                detail={"changes": changes},
            )
    return store


def do_change_own_password(form: Any, *, actor: Any, request: Any = None) -> User:
    """Save a valid PasswordChangeForm for `actor` and audit it (without the password)."""
    with transaction.atomic():
        user: User = form.save()
        record_audit(
            actor=actor,
            organisation=user.organisation,
            action="password_change",
            target=user,
            request=request,
        )
    return user


def do_create_token(
    user: User,
    name: str,
    *,
    actor: Any,
    scope: str,
    expires_at: datetime | None,
    request: Any = None,
) -> str:
    """A new API token for `user` (audited as token_created); returns the raw token, shown once."""
    return create_api_token(user, name, actor=actor, scope=scope, expires_at=expires_at)


def do_revoke_token(token: ApiToken, *, actor: Any, request: Any = None) -> None:
    """Revoke an API token (audited as token_revoked)."""
    revoke_api_token(token, actor=actor, request=request)


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
        if not org.onboarding_step and org.onboarding_done_at is None:
            # Her first sign-in opens the first-hour setup (web.onboarding) while the shop is empty.
            org.onboarding_step = "shop"
            org.save(update_fields=["onboarding_step"])
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


def do_set_onboarding_step(
    org: Organisation, step: str, *, actor: Any, done: bool = False, request: Any = None
) -> Organisation:
    """Remember the setup step the owner is on; `done` when she finished or skipped it."""
    org.onboarding_step = step[:20]
    if done and org.onboarding_done_at is None:
        org.onboarding_done_at = timezone.now()
    with transaction.atomic():
        org.save(update_fields=["onboarding_step", "onboarding_done_at"])
        if done:
            record_audit(
                actor=actor,
                organisation=org,
                action="onboarding_done",
                target=org,
                request=request,
                detail={"step": org.onboarding_step},
            )
    return org


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


def do_set_language(user: User, language: str, *, actor: Any, request: Any = None) -> bool:
    """Remember `language` (one of settings.LANGUAGES) as `user`'s; audited when it changes.

    Returns whether it changed. An unknown code changes nothing.
    """
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return False
    with transaction.atomic():
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        record_audit(
            actor=actor,
            organisation=user.organisation,
            action="language_change",
            target=user,
            request=request,
            detail={"language": [before, language]},
        )
    return True
