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


Rule = Literal["solar", "lunar", "weekday", "lunar_year_end"]


@dataclass(frozen=True)
class CustomDate:
    """A store's own occasion (anniversary, local festival), recurring every year.

    Solar or lunar month/day, or, with `weekday` (0 = Monday … 6 = Sunday), the `day`-th such
    weekday of the solar month (1–5, or -1 for the last): 5, 2, weekday 6 is the 2nd Sunday of May.
    """

    code: str
    name_zh: str
    name_en: str
    month: int
    day: int
    lunar: bool = False
    weekday: int | None = None

    @property
    def rule(self) -> Rule:
        """How the date recurs."""
        if self.weekday is not None:
            return "weekday"
        return "lunar" if self.lunar else "solar"


@dataclass(frozen=True)
class Occasion:
    """A built-in greeting occasion: how its date recurs, and lunar-python's name for it."""

    code: str
    name_zh: str
    name_en: str
    rule: Rule
    month: int = 0
    day: int = 0  # the day of the month, or which weekday of it (rule "weekday")
    weekday: int | None = None
    # The name lunar_python's Solar/Lunar.getFestivals() gives the day, where it knows it;
    # the tests check every computed date against it.
    known_as: str = ""


class LunarDate(NamedTuple):
    """A date on the Chinese calendar; `year` is the lunar year (starting at 春节)."""

    year: int
    month: int
    day: int
    is_leap: bool


SUNDAY = 6

# The built-in greeting occasions (DESIGN §6, issue 17): the festivals her customers keep and
# the shopping days, roughly in calendar order.
BUILT_IN: tuple[Occasion, ...] = (
    Occasion("new_year", "元旦", "New Year's Day", "solar", 1, 1, known_as="元旦节"),
    Occasion("valentines_day", "情人节", "Valentine's Day", "solar", 2, 14, known_as="情人节"),
    Occasion("new_years_eve", "除夕", "Chinese New Year's Eve", "lunar_year_end", known_as="除夕"),
    Occasion("spring_festival", "春节", "Spring Festival", "lunar", 1, 1, known_as="春节"),
    Occasion("lantern_festival", "元宵节", "Lantern Festival", "lunar", 1, 15, known_as="元宵节"),
    Occasion("womens_day", "妇女节", "International Women's Day", "solar", 3, 8, known_as="妇女节"),
    Occasion("day_520", "520", "520 (I love you) Day", "solar", 5, 20),
    Occasion("mothers_day", "母亲节", "Mother's Day", "weekday", 5, 2, SUNDAY, known_as="母亲节"),
    Occasion("dragon_boat", "端午节", "Dragon Boat Festival", "lunar", 5, 5, known_as="端午节"),
    Occasion("day_618", "618", "618 shopping festival", "solar", 6, 18),
    Occasion("fathers_day", "父亲节", "Father's Day", "weekday", 6, 3, SUNDAY, known_as="父亲节"),
    Occasion("qixi", "七夕", "Qixi Festival", "lunar", 7, 7, known_as="七夕节"),
    Occasion("teachers_day", "教师节", "Teachers' Day", "solar", 9, 10, known_as="教师节"),
    Occasion("mid_autumn", "中秋节", "Mid-Autumn Festival", "lunar", 8, 15, known_as="中秋节"),
    Occasion("national_day", "国庆节", "National Day", "solar", 10, 1, known_as="国庆节"),
    Occasion("double_ninth", "重阳节", "Double Ninth Festival", "lunar", 9, 9, known_as="重阳节"),
    Occasion("double_11", "双十一", "Singles' Day (11.11)", "solar", 11, 11),
    Occasion("double_12", "双十二", "12.12 shopping day", "solar", 12, 12),
    Occasion("christmas", "圣诞节", "Christmas", "solar", 12, 25, known_as="圣诞节"),
)
BUILT_IN_CODES = tuple(o.code for o in BUILT_IN)


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


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date | None:
    """The n-th `weekday` (0 = Monday) of a month, n = -1 for the last; None when there is none."""
    if not 0 <= weekday <= 6 or n == 0 or not -5 <= n <= 5 or not 1 <= month <= 12:
        raise ValueError(f"invalid weekday rule: {n}, {weekday} of month {month}")
    days = gregorian.monthrange(year, month)[1]
    matching = [d for d in range(1, days + 1) if date(year, month, d).weekday() == weekday]
    if n > len(matching):
        return None  # a 5th Sunday only some months have
    return date(year, month, matching[n - 1 if n > 0 else n])


def lunar_year_end(lunar_year: int) -> date:
    """The last day of a lunar year (除夕): day 29 or 30 of its 12th month (of a leap 12th, if any)."""
    year = LunarYear.fromYear(lunar_year)
    month = -12 if year.getLeapMonth() == 12 else 12
    last = year.getMonth(month).getDayCount()
    solar = Lunar.fromYmd(lunar_year, month, last).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _dates_in_year(rule: Rule, month: int, day: int, weekday: int | None, year: int) -> list[date]:
    if rule == "solar":
        return [solar_birthday_in_year(month, day, year)]
    if rule == "weekday":
        assert weekday is not None
        when = nth_weekday(year, month, weekday, day)
        return [when] if when is not None else []
    # Lunar months 1–10 of lunar year `year` all fall inside Gregorian `year`, but months
    # 11–12 spill into January, so a date there can come from the previous lunar year (and,
    # rarely, occur twice in one Gregorian year). 除夕 always does.
    found = []
    for lunar_year in (year - 1, year):
        if rule == "lunar_year_end":
            when = lunar_year_end(lunar_year)
        else:
            when = lunar_birthday_in_year(month, day, lunar_year)
        if when.year == year:
            found.append(when)
    return found


def festivals(year: int, custom: Iterable[CustomDate] = ()) -> list[Festival]:
    """The built-in greeting festivals of Gregorian `year`, plus custom dates, by date."""
    occasions = [
        *((o.code, o.name_zh, o.name_en, o.rule, o.month, o.day, o.weekday) for o in BUILT_IN),
        *((c.code, c.name_zh, c.name_en, c.rule, c.month, c.day, c.weekday) for c in custom),
    ]
    found = [
        Festival(code, name_zh, name_en, when)
        for code, name_zh, name_en, rule, month, day, weekday in occasions
        for when in _dates_in_year(rule, month, day, weekday, year)
    ]
    return sorted(found, key=lambda festival: (festival.date, festival.code))


def solar_to_lunar(when: date) -> LunarDate:
    """The lunar year, month, day and leap flag of a Gregorian date (to show a lunar birthday)."""
    lunar = Solar.fromYmd(when.year, when.month, when.day).getLunar()
    month = lunar.getMonth()
    return LunarDate(lunar.getYear(), abs(month), lunar.getDay(), month < 0)
