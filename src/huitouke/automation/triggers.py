"""Triggers: their settings, and which customers each one selects.

Event triggers (customer created, order paid or refunded, tier changed) name one customer when
the event happens. Time triggers are evaluated once per local day D: each is one indexed query
for the customers whose occasion falls on D (a birthday N days ahead, a last order exactly N days
ago ...), never a scan of every customer's history. Each occurrence carries a key, so the same
occasion can never enrol a customer twice ("birthday:2026", "days_since:2026-03-08").
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from lunar_python import LunarYear, Solar

from huitouke.accounts.models import Organisation
from huitouke.analytics.models import CustomerDue, Lifecycle, RfmSegment
from huitouke.automation.models import AutomationRule, SegmentState, Trigger
from huitouke.core.occasions import BUILT_IN_CODES, CustomDate, Festival, festivals
from huitouke.customers.models import CalendarKind, Customer, FamilyMember, Relation
from huitouke.loyalty.models import Tier
from huitouke.sales.models import Category
from huitouke.sales.phases import Phase, purchases_entering

BUILT_IN_FESTIVALS = BUILT_IN_CODES
SEGMENT_FIELDS = ("lifecycle", "rfm_segment")
DEFAULT_HOUR = 9


@dataclass(frozen=True)
class Occurrence:
    """A customer's occasion for a rule: the unique key and when it happens (before the delay)."""

    customer_id: int
    key: str
    at: datetime
    order_id: int | None = None


# --- settings ----------------------------------------------------------------------------------


def _int(raw: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = raw.get(name, default)
    if value in (None, ""):
        value = default
    try:
        number = int(value)
        if isinstance(value, bool) or number != float(value):
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            {"params": _("%(name)s must be a whole number.") % {"name": name}}
        ) from exc
    if not low <= number <= high:
        raise ValidationError(
            {
                "params": _("%(name)s must lie between %(low)s and %(high)s.")
                % {"name": name, "low": low, "high": high}
            }
        )
    return number


def _amount(raw: dict[str, Any], name: str, default: str | None) -> str | None:
    value = raw.get(name, default)
    if value in (None, ""):
        return default
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(
            {"params": _("%(name)s must be an amount.") % {"name": name}}
        ) from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("100000000"):
        raise ValidationError({"params": _("%(name)s must be an amount.") % {"name": name}})
    return str(amount.quantize(Decimal("0.01")))


def clean_params(trigger: str, raw: Any, organisation: Organisation) -> dict[str, Any]:
    """The trigger's settings checked and completed with defaults (raises ValidationError)."""
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": _("Choose a trigger.")})
    raw = raw if isinstance(raw, dict) else {}
    hour = {"hour": _int(raw, "hour", DEFAULT_HOUR, 0, 23)}
    if trigger == Trigger.ORDER_PAID:
        return {
            "min_amount": _amount(raw, "min_amount", None),
            "first_order_only": bool(raw.get("first_order_only", False)),
        }
    if trigger == Trigger.TIER_CHANGED:
        direction = raw.get("direction") or "up"
        if direction not in ("up", "down", "any"):
            raise ValidationError({"params": _("direction must be up, down or any.")})
        return {"direction": direction}
    if trigger == Trigger.NEAR_NEXT_TIER:
        return {"within": _amount(raw, "within", "50.00"), **hour}
    if trigger in (Trigger.BIRTHDAY, Trigger.CHILD_BIRTHDAY):
        return {"days_before": _int(raw, "days_before", 0, 0, 60), **hour}
    if trigger == Trigger.FESTIVAL:
        return {**_festival_params(raw), "days_before": _int(raw, "days_before", 0, 0, 60), **hour}
    if trigger == Trigger.DAYS_SINCE_LAST_ORDER:
        return {"days": _int(raw, "days", 90, 1, 3650), **hour}
    if trigger == Trigger.REPURCHASE_DUE:
        category = raw.get("category")
        if category not in (None, ""):
            category = _int(raw, "category", 0, 1, 2**63 - 1)
            if not Category.objects.filter(pk=category, organisation=organisation).exists():
                raise ValidationError({"params": _("Unknown category.")})
        return {"category": category or None, **hour}
    if trigger == Trigger.PHASE_ENTERED:
        category = _int(raw, "category", 0, 0, 2**63 - 1)
        if not Category.objects.filter(pk=category, organisation=organisation).exists():
            raise ValidationError({"params": _("Choose the category.")})
        phase = raw.get("phase") or ""
        if phase not in Phase.values:
            raise ValidationError({"params": _("Choose the phase.")})
        return {"category": category, "phase": phase, **hour}
    if trigger == Trigger.FIRST_ORDER_ANNIVERSARY:
        return hour
    if trigger == Trigger.SEGMENT_CHANGED:
        field = raw.get("field") or "lifecycle"
        if field not in SEGMENT_FIELDS:
            raise ValidationError({"params": _("field must be lifecycle or rfm_segment.")})

        allowed = Lifecycle.values if field == "lifecycle" else RfmSegment.values
        to, came_from = raw.get("to") or "", raw.get("from") or ""
        if to not in allowed or (came_from and came_from not in allowed):
            raise ValidationError(
                {"params": _("Choose one of: %(values)s.") % {"values": ", ".join(allowed)}}
            )
        return {"field": field, "to": to, "from": came_from, **hour}
    if trigger == Trigger.MANUAL:
        send_at = raw.get("send_at")
        parsed = parse_datetime(send_at) if isinstance(send_at, str) else None
        if parsed is None:
            raise ValidationError({"params": _("Give the campaign's send time.")})
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(organisation.time_zone))
        return {"send_at": parsed.isoformat()}
    return {}


def _festival_params(raw: dict[str, Any]) -> dict[str, Any]:
    chosen = raw.get("festivals") or []
    if not isinstance(chosen, list) or any(code not in BUILT_IN_FESTIVALS for code in chosen):
        raise ValidationError(
            {
                "params": _("festivals must list codes from: %(codes)s.")
                % {"codes": ", ".join(BUILT_IN_FESTIVALS)}
            }
        )
    custom: list[dict[str, Any]] = []
    for index, item in enumerate(raw.get("custom") or []):
        if not isinstance(item, dict):
            raise ValidationError({"params": _("Each custom date needs a name, month and day.")})
        name = str(item.get("name") or "").strip()[:30]
        month = _int(item, "month", 0, 1, 12)
        if not name:
            raise ValidationError({"params": _("Each custom date needs a name, month and day.")})
        weekday: int | None = None
        if item.get("weekday") not in (None, ""):
            # "The n-th weekday of the month": day is n (1–5, or -1 for the last).
            weekday = _int(item, "weekday", 0, 0, 6)
            day = _int(item, "day", 0, -1, 5)
            if day == 0:
                raise ValidationError({"params": _("%(name)s is not a date.") % {"name": name}})
            lunar = False
        else:
            day = _int(item, "day", 0, 1, 30 if item.get("lunar") else 31)
            lunar = bool(item.get("lunar", False))
            if not lunar and day > [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]:
                raise ValidationError({"params": _("%(name)s is not a date.") % {"name": name}})
        custom.append(
            {
                "code": f"custom{index + 1}",
                "name": name,
                "month": month,
                "day": day,
                "lunar": lunar,
                "weekday": weekday,
            }
        )
    if not chosen and not custom:
        raise ValidationError({"params": _("Choose at least one festival or add a date.")})
    return {"festivals": list(dict.fromkeys(chosen)), "custom": custom}


# --- calendars ---------------------------------------------------------------------------------


def solar_birthdays_on(day: date) -> list[tuple[int, int]]:
    """(month, day) of the solar birthdays celebrated on `day` (Feb 29 on Feb 28 in common years)."""
    keys = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not gregorian.isleap(day.year):
        keys.append((2, 29))
    return keys


@lru_cache(maxsize=1024)
def lunar_birthdays_on(day: date) -> tuple[int, frozenset[tuple[int, int, bool]]]:
    """The lunar year of `day` and the (month, day, leap) lunar birthdays celebrated on it.

    The conventions are calendar.lunar_birthday_in_year's: day 30 falls back to 29 in a short
    month; a leap-month birthday is kept in the leap month only in years with that leap month.
    """
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month_number, lunar_day = lunar.getMonth(), lunar.getDay()
    month, in_leap_month = abs(month_number), month_number < 0
    year = LunarYear.fromYear(lunar.getYear())
    days = [lunar_day]
    if lunar_day == 29 and year.getMonth(month_number).getDayCount() == 29:
        days.append(30)
    keys: set[tuple[int, int, bool]] = set()
    for d in days:
        if in_leap_month:
            keys.add((month, d, True))
        else:
            keys.add((month, d, False))
            if year.getLeapMonth() != month:
                keys.add((month, d, True))
    return lunar.getYear(), frozenset(keys)


def birthday_q(day: date, prefix: str = "") -> tuple[Q, Q, int]:
    """Filters for solar and for lunar birthdays celebrated on `day`, and that day's lunar year."""
    solar = Q()
    for month, d in solar_birthdays_on(day):
        solar |= Q(**{f"{prefix}birth_month": month, f"{prefix}birth_day": d})
    lunar_year, keys = lunar_birthdays_on(day)
    lunar = Q()
    for month, d, leap in sorted(keys):
        lunar |= Q(
            **{
                f"{prefix}birth_month": month,
                f"{prefix}birth_day": d,
                f"{prefix}birth_leap_month": leap,
            }
        )
    return (
        Q(**{f"{prefix}birthday_kind": CalendarKind.SOLAR}) & solar,
        Q(**{f"{prefix}birthday_kind": CalendarKind.LUNAR}) & lunar,
        lunar_year,
    )


# --- time triggers -------------------------------------------------------------------------------


def fire_time(rule: AutomationRule, day: date, tz: ZoneInfo) -> datetime:
    """The moment on local day `day` when the rule's occasion happens (its hour, 09:00 by default)."""
    return datetime.combine(day, time(int(rule.params.get("hour", DEFAULT_HOUR))), tzinfo=tz)


def daily_occurrences(
    rule: AutomationRule, day: date, tz: ZoneInfo, customers: QuerySet[Customer]
) -> Iterator[Occurrence]:
    """The occurrences of a time trigger on local day `day` among `customers` (the conditions)."""
    at = fire_time(rule, day, tz)
    params = rule.params
    ids = customers.values_list("pk", flat=True)
    if rule.trigger == Trigger.BIRTHDAY:
        when = day + timedelta(days=int(params.get("days_before", 0)))
        solar, lunar, lunar_year = birthday_q(when)
        for pk in ids.filter(solar).order_by():
            yield Occurrence(pk, f"birthday:{when.year}", at)
        for pk in ids.filter(lunar).order_by():
            yield Occurrence(pk, f"birthday:L{lunar_year}", at)
    elif rule.trigger == Trigger.CHILD_BIRTHDAY:
        when = day + timedelta(days=int(params.get("days_before", 0)))
        solar, lunar, lunar_year = birthday_q(when)
        children = FamilyMember.objects.filter(relation=Relation.CHILD, customer__in=ids)
        for member_id, customer_id in children.filter(solar).values_list("pk", "customer_id"):
            yield Occurrence(customer_id, f"child:{member_id}:{when.year}", at)
        for member_id, customer_id in children.filter(lunar).values_list("pk", "customer_id"):
            yield Occurrence(customer_id, f"child:{member_id}:L{lunar_year}", at)
    elif rule.trigger == Trigger.FESTIVAL:
        when = day + timedelta(days=int(params.get("days_before", 0)))
        for code in festivals_on(when, params):
            for pk in ids.order_by().iterator(chunk_size=5000):
                yield Occurrence(pk, f"festival:{code}:{when.year}", at)
    elif rule.trigger == Trigger.DAYS_SINCE_LAST_ORDER:
        last = day - timedelta(days=int(params["days"]))
        start = datetime.combine(last, time.min, tzinfo=tz)
        window = Q(
            stats__last_order_at__gte=start, stats__last_order_at__lt=start + timedelta(days=1)
        )
        for pk in ids.filter(window).order_by():
            yield Occurrence(pk, f"days_since:{last.isoformat()}", at)
    elif rule.trigger == Trigger.REPURCHASE_DUE:
        yield from _repurchase_due(rule, at, ids)
    elif rule.trigger == Trigger.PHASE_ENTERED:
        yield from _phase_entered(rule, day, tz, at, ids)
    elif rule.trigger == Trigger.FIRST_ORDER_ANNIVERSARY:
        # One local-day range per earlier year instead of extracting month and day from every
        # first order: SQLite evaluates tz-aware ExtractMonth/ExtractDay in Python per row.
        first_year = customers.aggregate(y=Min("stats__first_order_at"))["y"]
        same_day = Q(pk__in=[])
        if first_year is not None:
            for year in range(first_year.astimezone(tz).year, day.year):
                for month, d in solar_birthdays_on(day):
                    try:
                        start = datetime.combine(date(year, month, d), time.min, tzinfo=tz)
                    except ValueError:
                        continue  # 29 February in a common year
                    same_day |= Q(
                        stats__organisation_id=rule.organisation_id,
                        stats__first_order_at__gte=start,
                        stats__first_order_at__lt=start + timedelta(days=1),
                    )
        for pk in customers.filter(same_day).order_by().values_list("pk", flat=True):
            yield Occurrence(pk, f"anniversary:{day.year}", at)
    elif rule.trigger == Trigger.NEAR_NEXT_TIER:
        yield from _near_next_tier(rule, day, at, ids)
    elif rule.trigger == Trigger.SEGMENT_CHANGED:
        field, to, came_from = params["field"], params["to"], params.get("from") or ""
        states = SegmentState.objects.filter(
            organisation_id=rule.organisation_id,
            customer__in=ids,
            **{field: to, f"{field}_since": day},
        )
        if came_from:
            states = states.filter(**{f"{field}_from": came_from})
        for pk in states.values_list("customer_id", flat=True):
            yield Occurrence(pk, f"{field}:{to}:{day.isoformat()}", at)


def _custom_dates(params: dict[str, Any]) -> tuple[CustomDate, ...]:
    return tuple(
        CustomDate(
            c["code"], c["name"], c["name"], c["month"], c["day"], c["lunar"], c.get("weekday")
        )
        for c in params.get("custom") or []
    )


def festivals_on(when: date, params: dict[str, Any]) -> list[str]:
    """Codes of the rule's festivals (built-in and custom) that fall on `when`."""
    custom = _custom_dates(params)
    chosen = set(params.get("festivals") or []) | {c.code for c in custom}
    return [
        f.code for f in _festival_dates(when.year, custom) if f.date == when and f.code in chosen
    ]


def upcoming_festivals(params: dict[str, Any], today: date, count: int = 3) -> list[Festival]:
    """The next `count` dates (on or after `today`) of the rule's festivals, for its page."""
    custom = _custom_dates(params)
    chosen = set(params.get("festivals") or []) | {c.code for c in custom}
    found: list[Festival] = []
    for year in range(today.year, today.year + 3):
        found.extend(
            f for f in _festival_dates(year, custom) if f.code in chosen and f.date >= today
        )
        if len(found) >= count:
            break
    return found[:count]


@lru_cache(maxsize=256)
def _festival_dates(year: int, custom: tuple[CustomDate, ...]) -> tuple[Festival, ...]:
    # The lunar conversions cost milliseconds; the daily pass asks for the same year every day.
    return tuple(festivals(year, custom))


def _phase_entered(
    rule: AutomationRule, day: date, tz: ZoneInfo, at: datetime, ids: QuerySet[Any]
) -> Iterator[Occurrence]:
    """Customers whose latest purchase of the category enters the phase on `day`.

    The key names the order, so each purchase enters each phase once (sales.phases).
    """
    category, phase = rule.params["category"], rule.params["phase"]
    entering = purchases_entering(rule.organisation, category, phase, day, tz, ids)
    for customer_id, order_id in sorted(entering.items()):
        yield Occurrence(customer_id, f"phase:{category}:{phase}:{order_id}", at, order_id=order_id)


def _repurchase_due(rule: AutomationRule, at: datetime, ids: QuerySet[Any]) -> Iterator[Occurrence]:

    due = CustomerDue.objects.filter(
        organisation_id=rule.organisation_id, due_now=True, customer__in=ids
    )
    if rule.params.get("category"):
        due = due.filter(category_id=rule.params["category"])
    for customer_id, category_id, last in due.values_list(
        "customer_id", "category_id", "last_purchase_date"
    ):
        yield Occurrence(customer_id, f"due:{category_id}:{last.isoformat()}", at)


def _near_next_tier(
    rule: AutomationRule, day: date, at: datetime, ids: QuerySet[Any]
) -> Iterator[Occurrence]:

    within = Decimal(str(rule.params.get("within") or "50"))
    tiers = list(Tier.objects.filter(organisation_id=rule.organisation_id).order_by("threshold"))
    # One pass over the stats for all tiers (OR of the spend windows), then each customer is
    # matched to the window she is in: one scan instead of one per tier.
    windows: list[tuple[Decimal, Decimal, Any]] = []
    previous = Decimal("0")
    for tier in tiers:
        if tier.threshold <= 0:
            continue
        # Close to this tier, and past the one below it (else the one below is "next").
        windows.append((max(tier.threshold - within, previous), tier.threshold, tier))
        previous = tier.threshold
    if not windows:
        return
    near = Q(pk__in=[])
    for low, high, _tier in windows:
        near |= Q(stats__spend_12m__gte=low, stats__spend_12m__lt=high)
    for pk, spend in ids.filter(near).order_by().values_list("pk", "stats__spend_12m"):
        for low, high, tier in windows:
            if low <= spend < high:
                yield Occurrence(pk, f"near_tier:{tier.pk}:{day.year}", at)
                break


def campaign_send_at(rule: AutomationRule) -> datetime:
    """A campaign's send time."""
    parsed = parse_datetime(str(rule.params.get("send_at") or ""))
    if parsed is None:
        raise ValueError("campaign without a send time")
    return parsed
