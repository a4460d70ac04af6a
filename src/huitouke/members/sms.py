"""SMS verification codes: 6 digits, stored as a keyed hash, few minutes, few attempts, rate-limited.

Limits (settings.MEMBER_CODES_*) are counted from the SmsCode rows themselves. On PostgreSQL
two requests for the same phone (or from the same IP) are serialised by locking that phone's
and that IP's SmsThrottle rows, always in key order, before counting; on SQLite the IMMEDIATE
transaction serialises writers already. The answer never says whether the phone belongs to a
customer (no enumeration); the code leaves after commit through the organisation's SMS channel,
or, where the shop has none, is shown to its staff on the outbox page.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huitouke.accounts import secret_box
from huitouke.accounts.models import Organisation, Role, Store
from huitouke.customers.phones import mask_phone, normalise_phone
from huitouke.members.models import JoinCode, SmsCode, SmsThrottle
from huitouke.messaging.actions import active_config
from huitouke.messaging.models import Channel, Message
from huitouke.messaging.outbox import transport_for
from huitouke.messaging.transports import SendError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeRequest:
    """What the member is told: always the same sentence when a code was made."""

    message: str
    code_id: int


def code_hash(phone: str, code: str) -> str:
    key = f"{settings.SECRET_KEY}:members.sms".encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _error(field: str, message: str, code: str) -> ValidationError:
    # The code travels with the field's message (a dict ValidationError drops its own code).
    return ValidationError({field: ValidationError(message, code=code)})


def clean_phone(raw: str) -> str:
    """The E.164 phone, or a ValidationError for the phone field."""
    try:
        phone = normalise_phone(raw or "")
    except ValidationError as exc:
        raise ValidationError({"phone": exc.error_list}) from exc
    if not phone:
        raise _error("phone", _("Enter your mobile number."), "required")
    return phone


def _lock(keys: list[str]) -> None:
    for key in sorted(keys):
        try:
            with transaction.atomic():
                SmsThrottle.objects.get_or_create(key=key)
        except IntegrityError:  # created by a concurrent request: it is there now
            pass
    list(SmsThrottle.objects.select_for_update().filter(key__in=keys).order_by("key"))


def _check_limits(phone: str, ip: str | None, now: datetime) -> None:
    recent = SmsCode.objects.filter(phone=phone, created_at__lte=now)
    per_minute = settings.MEMBER_CODES_PER_PHONE_MINUTE
    last = recent.filter(created_at__gt=now - timedelta(minutes=1)).order_by("-created_at")
    if last.count() >= per_minute:
        newest = last.first()
        assert newest is not None
        wait = max(1, 60 - int((now - newest.created_at).total_seconds()))
        message = ngettext(
            "A code was just sent. You can ask for a new one in %(n)s second.",
            "A code was just sent. You can ask for a new one in %(n)s seconds.",
            wait,
        )
        raise _error("phone", message % {"n": wait}, "too_soon")
    if recent.filter(created_at__gt=now - timedelta(days=1)).count() >= (
        settings.MEMBER_CODES_PER_PHONE_DAY
    ):
        raise _error(
            "phone",
            _("Too many codes for this number today. Please try again tomorrow."),
            "phone_day",
        )
    by_ip = SmsCode.objects.filter(
        ip=ip, created_at__lte=now, created_at__gt=now - timedelta(hours=1)
    )
    if ip and by_ip.count() >= (settings.MEMBER_CODES_PER_IP_HOUR):
        raise _error(
            "phone", _("Too many codes from this network. Please try again in an hour."), "ip_hour"
        )


def request_code(
    *,
    organisation: Organisation,
    raw_phone: str,
    ip: str | None,
    store: Store | None = None,
    join_code: JoinCode | None = None,
    now: datetime | None = None,
) -> CodeRequest:
    """Make a new code for the phone (earlier ones stop working) and send it after commit."""
    phone = clean_phone(raw_phone)
    code = f"{secrets.randbelow(1_000_000):06d}"
    config = active_config(organisation.pk, Channel.SMS)
    with transaction.atomic():
        _lock([f"phone:{phone}"] + ([f"ip:{ip}"] if ip else []))
        # The time is read once the locks are held, so a code written by the request that held
        # them before is never "after now" for this one.
        now = now or timezone.now()
        _check_limits(phone, ip, now)
        SmsCode.objects.filter(
            organisation=organisation, phone=phone, consumed_at__isnull=True, superseded=False
        ).update(superseded=True)
        row = SmsCode.objects.create(
            organisation=organisation,
            store=store or (join_code.store if join_code else None),
            join_code=join_code,
            phone=phone,
            code_hash=code_hash(phone, code),
            shown_to_staff="" if config is not None else secret_box.encrypt(code),
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.MEMBER_CODE_TTL_SECONDS),
        )
        if join_code is not None:
            JoinCode.objects.filter(pk=join_code.pk).update(codes_sent=F("codes_sent") + 1)
        if config is not None:
            transaction.on_commit(lambda: send_code(row.pk, code))
    return CodeRequest(
        message=_(
            "If the number is right, a 6-digit code is on its way. It is valid for 5 minutes."
        ),
        code_id=row.pk,
    )


def send_code(code_id: int, code: str) -> bool:
    """Hand the code to the organisation's SMS provider (after commit; never inside a transaction)."""

    row = SmsCode.objects.select_related("organisation", "store").get(pk=code_id)
    config = active_config(row.organisation_id, Channel.SMS)
    if config is None:
        return False
    signature = (row.store.sms_signature if row.store else "") or row.organisation.name[:20]
    signature = signature.strip().removeprefix("【").removesuffix("】")
    # An unsaved message carries the signature the transports read; codes are not outbox rows.
    carrier = Message(sms_signature=signature)
    settings_ = config.settings or {}
    try:
        transport_for(config, carrier).send(
            row.phone,
            None,
            f"【{signature}】"
            + _("Your verification code is %(code)s, valid for 5 minutes.") % {"code": code},
            template_code=str(settings_.get("verification_template") or "") or None,
            template_params={"code": code},
            idempotency_key=f"member-code:{row.pk}",
        )
    except SendError:
        logger.warning("member code %s could not be sent", row.pk, exc_info=True)
        return False
    return True


def verify_code(
    *, organisation: Organisation, raw_phone: str, code: str, now: datetime | None = None
) -> str:
    """The phone when `code` is her newest, unexpired, unused code; else a clear ValidationError.

    A wrong guess is counted in its own transaction, so it stays counted whatever follows.
    """
    now = now or timezone.now()
    phone = clean_phone(raw_phone)
    code = (code or "").strip()
    newest = (
        SmsCode.objects.filter(organisation=organisation, phone=phone)
        .order_by("-created_at", "-id")
        .first()
    )
    if newest is None:
        raise _error("code", _("Ask for a code first."), "none")
    if newest.consumed_at is not None:
        raise _error("code", _("This code has already been used. Ask for a new one."), "used")
    if newest.expires_at <= now:
        raise _error("code", _("This code has expired. Ask for a new one."), "expired")
    limit = settings.MEMBER_CODE_MAX_ATTEMPTS
    if newest.attempts >= limit:
        raise _error("code", _("Too many wrong tries. Ask for a new code."), "attempts")
    if not (len(code) == 6 and code.isdigit()) or not hmac.compare_digest(
        newest.code_hash, code_hash(phone, code)
    ):
        with transaction.atomic():
            counted = SmsCode.objects.filter(pk=newest.pk, attempts__lt=limit).update(
                attempts=F("attempts") + 1
            )
        left = limit - newest.attempts - 1 if counted else 0
        if left <= 0:
            raise _error("code", _("Too many wrong tries. Ask for a new code."), "attempts")
        message = ngettext(
            "The code is not right. %(n)s try left.",
            "The code is not right. %(n)s tries left.",
            left,
        )
        raise _error("code", message % {"n": left}, "wrong")
    # Used once: the conditional update decides between two submissions of the same code.
    with transaction.atomic():
        used = SmsCode.objects.filter(
            pk=newest.pk, consumed_at__isnull=True, attempts__lt=limit
        ).update(consumed_at=now)
    if not used:
        raise _error("code", _("This code has already been used. Ask for a new one."), "used")
    return phone


def codes_for_staff(user: object, *, now: datetime | None = None) -> list[dict[str, object]]:
    """Unused codes of shops without an SMS channel, for the staff of the store to read out."""

    now = now or timezone.now()
    role = getattr(user, "role", "")
    if role not in (Role.OWNER, Role.MANAGER):
        return []
    rows = SmsCode.objects.filter(
        organisation_id=getattr(user, "organisation_id", None) or 0,
        consumed_at__isnull=True,
        superseded=False,
        expires_at__gt=now,
    ).exclude(shown_to_staff="")
    if role == Role.MANAGER:
        rows = rows.filter(store_id=getattr(user, "store_id", None) or 0)
    return [
        {
            "phone": mask_phone(row.phone),
            "code": secret_box.decrypt(row.shown_to_staff),
            "expires_at": row.expires_at,
            "store": row.store,
        }
        for row in rows.select_related("store").order_by("-created_at")[:20]
    ]
