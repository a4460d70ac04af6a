"""Writes to the WeCom connection and the staff ↔ member mapping (sync and handover: sync.py,
transfers.py; callbacks: callbacks.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts import secret_box
from huitouke.accounts.models import Organisation, User
from huitouke.audit.actions import record_audit
from huitouke.customers.phones import normalise_phone
from huitouke.wecom.client import WeComClient, WeComError
from huitouke.wecom.crypto import CallbackError, WeComCrypto
from huitouke.wecom.models import MatchedBy, WeComConnection, WeComMember

CREDENTIALS = ("corp_id", "secret", "token", "aes_key")


class ConnectionTokenStore:
    """Keeps the access token encrypted on the connection row, shared by every process."""

    def __init__(self, connection: WeComConnection) -> None:
        self.connection = connection

    def load(self) -> tuple[str, float]:
        c = self.connection
        if not c.access_token_enc or c.access_token_expires_at is None:
            return "", 0.0
        return secret_box.decrypt(c.access_token_enc), c.access_token_expires_at.timestamp()

    def save(self, token: str, expires_at: float) -> None:
        c = self.connection
        c.access_token_enc = secret_box.encrypt(token)
        c.access_token_expires_at = datetime.fromtimestamp(expires_at, UTC)
        WeComConnection.objects.filter(pk=c.pk).update(
            access_token_enc=c.access_token_enc,
            access_token_expires_at=c.access_token_expires_at,
        )


def client_for(connection: WeComConnection, **options: Any) -> WeComClient:
    return WeComClient(
        connection.corp_id, connection.secret, store=ConnectionTokenStore(connection), **options
    )


def crypto_for(connection: WeComConnection) -> WeComCrypto:
    return WeComCrypto(connection.token, connection.aes_key, connection.corp_id)


def do_save_connection(
    organisation: Organisation, *, actor: Any, request: Any = None, **values: str
) -> WeComConnection:
    """Store the credentials encrypted; a blank field keeps what is stored (they are never shown)."""
    unknown = set(values) - set(CREDENTIALS)
    if unknown:
        raise ValidationError(f"unknown fields {sorted(unknown)}")
    clean = {k: (v or "").strip() for k, v in values.items()}
    if clean.get("aes_key"):
        try:
            WeComCrypto("t", clean["aes_key"], "x")
        except CallbackError as exc:
            raise ValidationError(
                {"aes_key": _("The EncodingAESKey has 43 letters and digits.")}
            ) from exc
    with transaction.atomic():
        connection, _created = WeComConnection.objects.get_or_create(organisation=organisation)
        changed = []
        for name, value in clean.items():
            if value:
                setattr(connection, f"{name}_enc", secret_box.encrypt(value))
                changed.append(name)
        if {"corp_id", "secret"} & set(changed):
            # A token belongs to one corp id + secret: never reuse it for new credentials.
            connection.access_token_enc = ""
            connection.access_token_expires_at = None
        connection.save()
        record_audit(
            actor=actor,
            organisation=organisation,
            action="settings",
            target=connection,
            request=request,
            detail={"wecom": sorted(changed)},  # names only, never values
        )
    return connection


def do_test_connection(connection: WeComConnection, *, actor: Any) -> bool:
    """Fetch a token and the follow users; the outcome (never a secret) is kept for the screen."""
    try:
        client_for(connection).access_token(force=True)
        ok, error = True, ""
    except WeComError as exc:
        ok = False
        error = f"{exc.errcode}: {exc.errmsg}"[:200] if exc.errcode is not None else "network"
    WeComConnection.objects.filter(pk=connection.pk).update(
        last_test_at=timezone.now(), last_test_ok=ok, last_error=error
    )
    connection.refresh_from_db()
    return ok


def do_map_member(member: WeComMember, *, staff: User | None, actor: Any) -> WeComMember:
    """Link a WeCom member to a staff account by hand (None unlinks)."""
    if staff is not None and staff.organisation_id != member.organisation_id:
        raise ValidationError({"staff": _("This staff member belongs to another organisation.")})
    with transaction.atomic():
        if staff is not None:
            WeComMember.objects.filter(organisation_id=member.organisation_id, staff=staff).exclude(
                pk=member.pk
            ).update(staff=None, matched_by="")
        member.staff = staff
        member.matched_by = MatchedBy.HAND if staff is not None else ""
        member.save(update_fields=["staff", "matched_by"])
    return member


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except ValidationError:
        return ""


def do_sync_members(connection: WeComConnection, *, actor: Any, client: Any = None) -> int:
    """Fetch the follow users and their details; link unmapped ones to staff with the same mobile."""
    client = client or client_for(connection)
    org_id = connection.organisation_id
    details = [client.user(userid) for userid in client.follow_users()]
    staff_by_phone: dict[str, User] = {}
    for user in User.objects.filter(organisation_id=org_id, is_active=True).exclude(phone=""):
        phone = _phone(user.phone)
        if phone:
            staff_by_phone.setdefault(phone, user)
    with transaction.atomic():
        taken = set(
            WeComMember.objects.filter(organisation_id=org_id, staff__isnull=False).values_list(
                "staff_id", flat=True
            )
        )
        for info in details:
            member, _created = WeComMember.objects.get_or_create(
                organisation_id=org_id, userid=str(info["userid"])
            )
            before = (member.name, member.mobile, member.staff_id)
            member.name = str(info.get("name", ""))[:64]
            member.mobile = str(info.get("mobile", ""))[:20]
            if member.staff_id is None:
                staff = staff_by_phone.get(_phone(member.mobile))
                if staff is not None and staff.pk not in taken:
                    member.staff = staff
                    member.matched_by = MatchedBy.MOBILE
                    taken.add(staff.pk)
            if (member.name, member.mobile, member.staff_id) != before:
                member.save()
    return len(details)
