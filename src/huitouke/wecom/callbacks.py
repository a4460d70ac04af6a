"""change_external_contact callbacks: verified, decrypted, each event applied once.

Refused: a wrong msg_signature or receiveid, a timestamp older than five minutes, a nonce
already seen. Applied once: the decrypted content is hashed and a second delivery of the
same event changes nothing. Out of order: add and edit re-read the contact from WeCom
(externalcontact/get), so they apply her current state whatever arrived first, and a delete
older than the newest event applied to that follow user is ignored. A delete never deletes:
it marks the follow user's side (她删除了导购 / 导购删除了她) on the customer.
"""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from huitouke.customers.actions import do_add_interaction
from huitouke.customers.models import InteractionKind
from huitouke.wecom.actions import client_for, crypto_for
from huitouke.wecom.client import WeComError
from huitouke.wecom.crypto import CallbackError
from huitouke.wecom.models import (
    FollowState,
    WeComCallback,
    WeComConnection,
    WeComCorpTag,
    WeComFollow,
    WeComMember,
)
from huitouke.wecom.sync import Remote, _Applier
from huitouke.wecom.transfers import transfer_failed

logger = logging.getLogger("huitouke.wecom")


@dataclass(frozen=True)
class Event:
    change_type: str
    userid: str
    external_userid: str
    create_time: int
    source: str = ""
    fail_reason: str = ""


def _xml(data: bytes) -> ET.Element:
    # Entity declarations are refused before parsing (billion laughs, external entities).
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise CallbackError("DTD in XML")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise CallbackError("bad XML") from exc


def encrypted_part(body: bytes) -> str:
    text = _xml(body).findtext("Encrypt")
    if not text:
        raise CallbackError("no Encrypt element")
    return text.strip()


def parse_event(plain: bytes) -> Event | None:
    root = _xml(plain)
    if root.findtext("Event") != "change_external_contact":
        return None
    try:
        create_time = int(root.findtext("CreateTime") or 0)
    except ValueError:
        create_time = 0
    return Event(
        change_type=(root.findtext("ChangeType") or "").strip(),
        userid=(root.findtext("UserID") or "").strip(),
        external_userid=(root.findtext("ExternalUserID") or "").strip(),
        create_time=create_time,
        source=(root.findtext("Source") or "").strip(),
        fail_reason=(root.findtext("FailReason") or "").strip(),
    )


def _remember_nonce(connection: WeComConnection, nonce: str, timestamp: str) -> WeComCallback:
    try:
        with transaction.atomic():
            return WeComCallback.objects.create(
                organisation_id=connection.organisation_id,
                nonce=nonce[:64],
                timestamp=int(timestamp),
            )
    except IntegrityError as exc:
        raise CallbackError("replayed nonce") from exc


def verify_url(
    connection: WeComConnection, *, msg_signature: str, timestamp: str, nonce: str, echostr: str
) -> str:
    """The echostr's plaintext, for WeCom's URL verification."""
    plain = crypto_for(connection).open(msg_signature, timestamp, nonce, echostr)
    _remember_nonce(connection, nonce, timestamp)
    return plain.decode()


def receive(
    connection: WeComConnection,
    *,
    msg_signature: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    client: Any = None,
) -> str:
    """Verify, decrypt and apply one callback; returns the outcome (for the log and tests)."""
    plain = crypto_for(connection).open(msg_signature, timestamp, nonce, encrypted_part(body))
    record = _remember_nonce(connection, nonce, timestamp)
    event = parse_event(plain)
    if event is None:
        return _finish(record, "ignored", "")
    content_hash = hashlib.sha256(plain).hexdigest()
    if WeComCallback.objects.filter(
        organisation_id=connection.organisation_id, content_hash=content_hash
    ).exists():
        return _finish(record, "duplicate", event.change_type)
    remote = None
    if event.change_type in ("add_external_contact", "edit_external_contact"):
        # Read outside the transaction: slow I/O never holds the database.
        try:
            remote = _fetch(client or client_for(connection), event.external_userid)
        except WeComError as error:
            if error.errcode != 84061:
                # Not applied: forget the nonce so WeCom's retry of this delivery is accepted.
                WeComCallback.objects.filter(pk=record.pk).delete()
                raise
            return _finish(record, "not_found", event.change_type)
    try:
        with transaction.atomic():
            WeComCallback.objects.filter(pk=record.pk).update(
                content_hash=content_hash, change_type=event.change_type
            )
            outcome = _apply(connection, event, remote)
            WeComCallback.objects.filter(pk=record.pk).update(outcome=outcome)
    except IntegrityError:
        # The same event delivered twice at once: the other delivery applied it.
        return _finish(record, "duplicate", event.change_type)
    return outcome


def _finish(record: WeComCallback, outcome: str, change_type: str) -> str:
    WeComCallback.objects.filter(pk=record.pk).update(outcome=outcome, change_type=change_type)
    return outcome


def _fetch(client: Any, external_userid: str) -> Remote:
    answer = client.contact(external_userid)
    ext = answer.get("external_contact") or {}
    return Remote(
        external_userid=str(ext.get("external_userid") or external_userid),
        name=str(ext.get("name") or ""),
        unionid=str(ext.get("unionid") or ""),
        follows={str(f["userid"]): f for f in answer.get("follow_user") or [] if f.get("userid")},
    )


def _apply(connection: WeComConnection, event: Event, remote: Remote | None) -> str:
    org_id = connection.organisation_id
    if event.change_type == "transfer_fail":
        done = transfer_failed(
            connection,
            external_userid=event.external_userid,
            takeover_userid=event.userid,
            reason=event.fail_reason,
        )
        return "transfer_refused" if done else "no_transfer"
    if remote is not None:
        if not remote.follows:
            return "no_follow"
        members = WeComMember.objects.filter(organisation_id=org_id, staff__isnull=False)
        tag_names = dict(
            WeComCorpTag.objects.filter(organisation_id=org_id).values_list("tag_id", "name")
        )
        for info in remote.follows.values():
            for tag in info.get("tags") or []:
                if tag.get("tag_id") and tag.get("tag_name") and tag.get("type", 1) == 1:
                    tag_names.setdefault(str(tag["tag_id"]), str(tag["tag_name"])[:30])
        applier = _Applier(connection, dict(members.values_list("userid", "staff_id")), tag_names)
        follows = WeComFollow.objects.filter(
            contact__organisation_id=org_id, contact__external_userid=remote.external_userid
        )
        # A delete newer than this event stays: the snapshot may predate WeCom's own update.
        newer = list(
            follows.filter(event_time__gt=event.create_time)
            .exclude(state=FollowState.ACTIVE)
            .values_list("pk", "state")
        )
        applier.apply([remote])
        for pk, state in newer:
            WeComFollow.objects.filter(pk=pk).update(state=state)
        WeComFollow.objects.filter(
            contact__organisation_id=org_id,
            contact__external_userid=remote.external_userid,
            event_time__lt=event.create_time,
        ).update(event_time=event.create_time)
        return "created" if applier.counts.created else "updated"
    if event.change_type in ("del_external_contact", "del_follow_user"):
        if event.source == "DELETE_BY_TRANSFER":
            return "moved_by_transfer"  # the transfer's own result records this
        state = (
            FollowState.STAFF_DELETED
            if event.change_type == "del_external_contact"
            else FollowState.SHE_DELETED
        )
        follow = (
            WeComFollow.objects.select_related("contact__customer")
            .filter(
                contact__organisation_id=org_id,
                contact__external_userid=event.external_userid,
                userid=event.userid,
            )
            .first()
        )
        if follow is None:
            return "unknown_contact"
        # An older delete arriving after a newer add or edit changes nothing.
        changed = WeComFollow.objects.filter(
            pk=follow.pk, event_time__lte=event.create_time
        ).update(state=state, event_time=event.create_time)
        if not changed:
            return "stale"
        if follow.state != state:
            do_add_interaction(
                follow.contact.customer,
                actor=None,
                kind=InteractionKind.NOTE,
                note=str(FollowState(state).label) + f" ({event.userid})",
            )
        return str(state)
    return "ignored"
