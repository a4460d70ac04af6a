"""Birthdays and festivals on the Gregorian and Chinese lunar calendars (via lunar_python).

Conventions, chosen so every customer gets exactly one greeting a year:
- A solar birthday on Feb 29 is celebrated on Feb 28 in common years.
- A lunar birthday on day 30 is celebrated on day 29 when that year's month has 29 days.
- A birthday in a leap month (闰月) is celebrated in the leap month only in years that have
  that same leap month; in other years it falls in the regular month of the same number.
- Lunar year N is the one whose first day (春节) falls in Gregorian year N; its 11th and 12th
  months usually reach into January/February of N + 1.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal, NamedTuple

from lunar_python import Lunar, LunarYear, Solar


@dataclass(frozen=True)
class Festival:
    """A greeting occasion in one Gregorian year."""

    code: str
    name_zh: str
    name_en: str
    date: date


@dataclass(frozen=True)
class CustomDate:
    """A store's own occasion (anniversary, local festival), recurring on a solar or lunar date."""

    code: str
    name_zh: str
    name_en: str
    month: int
    day: int
    lunar: bool = False


class LunarDate(NamedTuple):
    """A date on the Chinese calendar; `year` is the lunar year (starting at 春节)."""

    year: int
    month: int
    day: int
    is_leap: bool


# (code, 中文, English, month, day, is_lunar) — the built-in greeting occasions of DESIGN §6.
_BUILT_IN: tuple[tuple[str, str, str, int, int, bool], ...] = (
    ("new_year", "元旦", "New Year's Day", 1, 1, False),
    ("spring_festival", "春节", "Spring Festival", 1, 1, True),
    ("lantern_festival", "元宵节", "Lantern Festival", 1, 15, True),
    ("womens_day", "妇女节", "International Women's Day", 3, 8, False),
    ("day_520", "520", "520 (I love you) Day", 5, 20, False),
    ("dragon_boat", "端午节", "Dragon Boat Festival", 5, 5, True),
    ("qixi", "七夕", "Qixi Festival", 7, 7, True),
    ("mid_autumn", "中秋节", "Mid-Autumn Festival", 8, 15, True),
    ("double_ninth", "重阳节", "Double Ninth Festival", 9, 9, True),
)


def _check_month_day(month: int, day: int, max_day: int) -> None:
    if not 1 <= month <= 12 or not 1 <= day <= max_day:
        raise ValueError(f"invalid month/day: {month}/{day}")


def solar_birthday_in_year(month: int, day: int, year: int) -> date:
    """The Gregorian birthday in `year`; Feb 29 becomes Feb 28 in common years."""
    _check_month_day(month, day, 31)
    last_day = gregorian.monthrange(year, month)[1]
    if day > last_day and not (month == 2 and day == 29):
        raise ValueError(f"invalid month/day: {month}/{day}")
    return date(year, month, min(day, last_day))


def lunar_birthday_in_year(
    lunar_month: int, lunar_day: int, year: int, is_leap_month: bool = False
) -> date:
    """The Gregorian date of lunar month/day in lunar year `year` (see module notes)."""
    _check_month_day(lunar_month, lunar_day, 30)
    lunar_year = LunarYear.fromYear(year)
    # lunar_python numbers a leap month with a negative month (闰二月 = -2).
    wanted = -lunar_month if is_leap_month and lunar_year.getLeapMonth() == lunar_month else None
    month_number = wanted if wanted is not None else lunar_month
    day = min(lunar_day, lunar_year.getMonth(month_number).getDayCount())
    solar = Lunar.fromYmd(year, month_number, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def birthday_in_year(
    kind: Literal["solar", "lunar"], month: int, day: int, is_leap: bool, year: int
) -> date:
    """The birthday of this kind celebrated in (solar or lunar) year `year`."""
    if kind == "solar":
        return solar_birthday_in_year(month, day, year)
    if kind == "lunar":
        return lunar_birthday_in_year(month, day, year, is_leap)
    raise ValueError(f"unknown birthday kind: {kind!r}")


def next_birthday(
    kind: Literal["solar", "lunar"], month: int, day: int, is_leap: bool, today: date
) -> date:
    """The first celebration of the birthday on or after `today`."""
    # A lunar year starts in Jan/Feb, so its late months can land in the next Gregorian
    # year: the celebration on or after `today` may belong to lunar year today.year - 1.
    first = today.year - 1 if kind == "lunar" else today.year
    for year in range(first, today.year + 2):
        when = birthday_in_year(kind, month, day, is_leap, year)
        if when >= today:
            return when
    raise AssertionError("unreachable: a birthday recurs within two years")


def festivals(year: int, custom: Iterable[CustomDate] = ()) -> list[Festival]:
    """The built-in greeting festivals of Gregorian `year`, plus custom dates, by date."""
    found: list[Festival] = []
    occasions = [
        *_BUILT_IN,
        *((c.code, c.name_zh, c.name_en, c.month, c.day, c.lunar) for c in custom),
    ]
    for code, name_zh, name_en, month, day, lunar in occasions:
        if lunar:
            # Lunar months 1–10 of lunar year `year` all fall inside Gregorian `year`, but
            # months 11–12 spill into January, so a custom date there can come from the
            # previous lunar year (and, rarely, occur twice in one Gregorian year).
            for lunar_year in (year - 1, year):
                when = lunar_birthday_in_year(month, day, lunar_year)
                if when.year == year:
                    found.append(Festival(code, name_zh, name_en, when))
        else:
            found.append(Festival(code, name_zh, name_en, solar_birthday_in_year(month, day, year)))
    return sorted(found, key=lambda festival: (festival.date, festival.code))


def solar_to_lunar(when: date) -> LunarDate:
    """The lunar year, month, day and leap flag of a Gregorian date (to show a lunar birthday)."""
    lunar = Solar.fromYmd(when.year, when.month, when.day).getLunar()
    month = lunar.getMonth()
    return LunarDate(lunar.getYear(), abs(month), lunar.getDay(), month < 0)
