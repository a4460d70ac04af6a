"""Phone numbers: normalised to E.164 with region CN by default, masked for display."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from huitouke.accounts.scoping import can_see_full_phone

DEFAULT_REGION = "CN"
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋－（）　", "0123456789+-() ")
# Letters of any script: a phone keypad turns "abcd" into 2223, which must never happen silently.
_LETTER = re.compile(r"[^\W\d_]")
_EXTENSION = re.compile(r"(?:转|ext\.?|x)\s*\d+$", re.IGNORECASE)


def has_letters(raw: str) -> bool:
    """True when a phone as typed holds letters (an extension such as "转 8001" is not counted)."""
    return bool(_LETTER.search(_EXTENSION.sub("", (raw or "").strip())))


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of `raw` ("" stays ""), or raise ValidationError naming the value."""
    text = (raw or "").translate(_FULLWIDTH).strip()
    if not text:
        return ""
    if has_letters(text):
        raise ValidationError(
            _("“%(value)s” contains letters; a phone number has digits only."),
            params={"value": raw},
            code="invalid_phone",
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), params={"value": raw}, code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            params={"value": raw},
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """Mainland numbers without +86 (13812341234); other countries keep the international form."""
    if e164.startswith("+86"):
        return e164[3:]
    return e164


def mask_phone(e164: str) -> str:
    """138****1234: the first three and last four digits stay visible."""
    digits = national(e164)
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def phone_as_seen(user: object, customer: object) -> str:
    """The customer's number as `user` may see it: national form in full, or masked.

    The one rule (accounts.scoping.can_see_full_phone: the owner, and the staff member the
    customer belongs to) for every page, form, API field and export; anyone else sees the mask
    and reveals the number through customers.actions.do_reveal_phone, which audits it.
    """

    phone = getattr(customer, "phone", None) or ""
    if not phone:
        return ""
    if user is not None and can_see_full_phone(user, customer):
        return national(phone)
    return mask_phone(phone)
