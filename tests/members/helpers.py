"""Helpers for the member-centre tests: a join code, a code request, the code as sent."""

from __future__ import annotations

from typing import Any

from huitouke.accounts.models import Store, User
from huitouke.members.actions import do_create_join_code
from huitouke.members.models import JoinCode, SmsCode
from huitouke.members.sms import code_hash

PHONE = "13800138000"
E164 = "+8613800138000"


def make_join_code(
    actor: User, store: Store, *, staff: User | None = None, **extra: Any
) -> JoinCode:
    return do_create_join_code(
        actor=actor, store=store, staff=staff, label=extra.pop("label", "门店海报"), **extra
    )


def code_shown_to_staff(phone: str = E164) -> str:
    """The plain code of the newest open code (shops without SMS keep it for staff to read out)."""
    from huitouke.accounts import secret_box

    row = SmsCode.objects.filter(phone=phone).order_by("-created_at", "-id").first()
    assert row is not None and row.shown_to_staff
    code = secret_box.decrypt(row.shown_to_staff)
    assert row.code_hash == code_hash(phone, code)
    return code
