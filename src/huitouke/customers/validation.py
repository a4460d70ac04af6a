"""The rules every way in (web forms, the API, imports) applies to a customer and her family.

Each check returns the cleaned value or raises ValidationError keyed by the field, with a message
that names the field in the user's language, so a form shows it beside the input (typed values
kept), the API returns it as a 422 field error and an import reports the row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.customers.phones import normalise_phone


def validate_phone(raw: str | None, *, field: str = "phone") -> str:
    """The E.164 form of a typed phone ("" when empty); letters and invalid numbers are refused."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        return normalise_phone(text)
    except ValidationError as exc:
        raise ValidationError(
            {
                field: ValidationError(
                    _("Mobile: %(problem)s") % {"problem": exc.messages[0]}, code="invalid_phone"
                )
            }
        ) from exc


def birthday_in_future(
    kind: str | None, year: int | None, month: int | None, day: int | None, today: date
) -> bool:
    """A birthday after today: a known solar date later than today, or a year after this one."""
    if year is None:
        return False
    if year > today.year:
        return True
    if kind == "lunar" or month is None or day is None or year < today.year:
        return False
    try:
        return date(year, month, day) > today
    except ValueError:
        return False


def birthday_problem(
    kind: str | None,
    year: int | None,
    month: int | None,
    day: int | None,
    *,
    leap: bool = False,
    today: date | None = None,
) -> str | None:
    """Why a birthday cannot be (a date that does not exist, or one in the future), else None."""
    today = today or timezone.localdate()
    lunar = kind == "lunar"
    if month is not None and not 1 <= month <= 12:
        return _("the month must be between 1 and 12")
    if day is not None and not 1 <= day <= (30 if lunar else 31):
        return _("the day must be between 1 and %(n)s") % {"n": 30 if lunar else 31}
    if year is not None and year < 1900:
        return _("the year %(year)s is too long ago") % {"year": year}
    if month is not None and day is not None and not lunar:
        if leap:
            return _("only a lunar birthday has a leap month")
        try:
            # A leap year stands in when the year is unknown, so 2月29日 stays possible.
            born = date(year or 2000, month, day)
        except ValueError:
            if year:
                return _("%(year)s-%(month)02d-%(day)02d does not exist") % {
                    "year": year,
                    "month": month,
                    "day": day,
                }
            return _("%(month)s/%(day)s does not exist") % {"month": month, "day": day}
        if birthday_in_future(kind, year, month, day, today):
            return _("%(date)s is in the future") % {"date": born.isoformat()}
    if birthday_in_future(kind, year, month, day, today):
        return _("the year %(year)s is in the future") % {"year": year}
    return None


def validate_birthday(
    kind: str | None,
    year: int | None,
    month: int | None,
    day: int | None,
    *,
    leap: bool = False,
    who: str = "",
    field: str = "birth_day",
) -> None:
    """Raise ValidationError on `field` naming the birthday (and whose) when it cannot be."""
    problem = birthday_problem(kind, year, month, day, leap=leap)
    if problem is None:
        return
    if who:
        message = _("Birthday of %(who)s: %(problem)s.") % {"who": who, "problem": problem}
    else:
        message = _("Birthday: %(problem)s.") % {"problem": problem}
    raise ValidationError({field: ValidationError(message, code="invalid_birthday")})


def validate_budget(value: Any, *, field: str = "budget") -> Decimal | None:
    """A budget in yuan: empty, or a number of at least 0."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError(
            {field: ValidationError(_("Budget: enter an amount in yuan."), code="invalid_budget")}
        )
    if amount < 0:
        raise ValidationError(
            {
                field: ValidationError(
                    _("Budget: %(value)s is negative; enter 0 or more yuan."),
                    params={"value": value},
                    code="invalid_budget",
                )
            }
        )
    return amount


def validate_customer(values: dict[str, Any]) -> None:
    """Every rule for a customer's profile values at once; all problems are raised together."""
    errors: dict[str, list[ValidationError]] = {}
    checks: list[Any] = []
    if "budget" in values:
        checks.append(lambda: validate_budget(values.get("budget")))
    if any(k in values for k in ("birth_year", "birth_month", "birth_day", "birthday_kind")):
        checks.append(
            lambda: validate_birthday(
                values.get("birthday_kind"),
                values.get("birth_year"),
                values.get("birth_month"),
                values.get("birth_day"),
                leap=bool(values.get("birth_leap_month")),
            )
        )
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for key, errs in exc.error_dict.items():
                errors.setdefault(key, []).extend(errs)
    if errors:
        raise ValidationError(errors)
