"""The member code shown at the till: a number (and its QR) that changes every 60 seconds.

Digits: the customer id, then the issue time in seconds modulo 100000 (5 digits), then an
8-digit HMAC of (organisation, customer, issue time) under the secret key. The reader recovers
the issue time as the latest moment not after now with those last five digits, so a code is
refused once it is older than MEMBER_PASS_MAX_AGE_SECONDS, and any changed digit breaks the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.customers.models import Customer

TIME_DIGITS = 5
MAC_DIGITS = 8
REFRESH_SECONDS = 60


def _mac(organisation_id: int, customer_id: int, issued: int) -> str:
    key = f"{settings.SECRET_KEY}:members.pass".encode()
    digest = hmac.new(key, f"{organisation_id}:{customer_id}:{issued}".encode(), hashlib.sha256)
    return f"{int.from_bytes(digest.digest()[:8], 'big') % 10**MAC_DIGITS:0{MAC_DIGITS}d}"


def make_pass(customer: Customer, *, now: datetime | None = None) -> str:
    """Her member code at `now`."""
    issued = int((now or timezone.now()).timestamp())
    stamp = issued % 10**TIME_DIGITS
    return (
        f"{customer.pk}{stamp:0{TIME_DIGITS}d}{_mac(customer.organisation_id, customer.pk, issued)}"
    )


def grouped(code: str) -> str:
    """1234 5678 9012 34: easier to read out."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def read_pass(raw: str, organisation_id: int, *, now: datetime | None = None) -> int:
    """The customer id in a member code of this organisation, or a ValidationError saying why not."""
    digits = "".join(ch for ch in raw or "" if not ch.isspace())
    if not digits.isdigit() or len(digits) <= TIME_DIGITS + MAC_DIGITS:
        raise ValidationError(_("This is not a member code."), code="invalid")
    customer_id = int(digits[: -(TIME_DIGITS + MAC_DIGITS)])
    stamp = int(digits[-(TIME_DIGITS + MAC_DIGITS) : -MAC_DIGITS])
    mac = digits[-MAC_DIGITS:]
    current = int((now or timezone.now()).timestamp())
    issued = current - (current - stamp) % 10**TIME_DIGITS
    if not hmac.compare_digest(mac, _mac(organisation_id, customer_id, issued)):
        raise ValidationError(_("This member code is not valid."), code="invalid")
    if current - issued > settings.MEMBER_PASS_MAX_AGE_SECONDS:
        raise ValidationError(
            _("This member code has expired. Ask her to refresh her member page."), code="expired"
        )
    return customer_id


def customer_for_pass(user: object, raw: str, *, now: datetime | None = None) -> Customer:
    """The customer behind a member code, within what `user` may see (else ValidationError)."""
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id is None:
        raise ValidationError(_("This member code is not valid."), code="invalid")
    customer_id = read_pass(raw, organisation_id, now=now)
    customer = Customer.objects.visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(
            _("This member is not one of the customers you look after."), code="scope"
        )
    return customer
