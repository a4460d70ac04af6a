"""Birthdays and festivals against published calendars and hand-worked lunar cases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.core.occasions import (
    CustomDate,
    LunarDate,
    festivals,
    lunar_birthday_in_year,
    next_birthday,
    solar_birthday_in_year,
    solar_to_lunar,
)

# Published dates. Sources:
# - HK Government gazette of general holidays (info.gov.hk press releases): 2024 (春节 Feb 10,
#   端午 Jun 10, day after 中秋 Sep 18, 重阳 Oct 11), 2025 (端午 May 31, day after 中秋 Oct 7,
#   重阳 Oct 29), 2026 (农历年初一 Feb 17, 端午 Jun 19, 中秋节翌日 Sep 26, 重阳节翌日 Oct 19
#   because 重阳 fell on Sunday Oct 18).
# - State Council notice on 2025 holidays (国办发明电〔2024〕12号): 1月28日 is 农历除夕,
#   so 春节 is Jan 29; 2月4日 is 正月初七.
# - HKO Gregorian-Lunar Calendar Conversion Table 2028: 1st lunar month begins Jan 26.
# - Published 万年历 tables (rili.com.cn and others) for 七夕 2025 (Aug 29) and 春节/中秋
#   2027-2030; 2030 follows the official (HKO / Purple Mountain) reckoning, Feb 3.
# 元宵 is 14 days after 春节 by definition (lunar 1/15), e.g. 2025-01-29 + 14 = 2025-02-12.
SPRING_FESTIVAL = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
MID_AUTUMN = {
    2024: date(2024, 9, 17),
    2025: date(2025, 10, 6),
    2026: date(2026, 9, 25),
    2027: date(2027, 9, 15),
    2028: date(2028, 10, 3),
    2029: date(2029, 9, 22),
    2030: date(2030, 9, 12),
}
DRAGON_BOAT = {2024: date(2024, 6, 10), 2025: date(2025, 5, 31), 2026: date(2026, 6, 19)}
DOUBLE_NINTH = {2024: date(2024, 10, 11), 2025: date(2025, 10, 29), 2026: date(2026, 10, 18)}


def festival_dates(year: int) -> dict[str, date]:
    return {f.code: f.date for f in festivals(year)}


@pytest.mark.parametrize(("year", "expected"), sorted(SPRING_FESTIVAL.items()))
def test_spring_festival_matches_published_calendar(year: int, expected: date) -> None:
    assert festival_dates(year)["spring_festival"] == expected


@pytest.mark.parametrize(("year", "expected"), sorted(MID_AUTUMN.items()))
def test_mid_autumn_matches_published_calendar(year: int, expected: date) -> None:
    assert festival_dates(year)["mid_autumn"] == expected


@pytest.mark.parametrize(("year", "expected"), sorted(DRAGON_BOAT.items()))
def test_dragon_boat_matches_published_calendar(year: int, expected: date) -> None:
    assert festival_dates(year)["dragon_boat"] == expected


@pytest.mark.parametrize(("year", "expected"), sorted(DOUBLE_NINTH.items()))
def test_double_ninth_matches_published_calendar(year: int, expected: date) -> None:
    assert festival_dates(year)["double_ninth"] == expected


def test_all_2025_festivals_in_date_order() -> None:
    got = [(f.code, f.name_zh, f.date) for f in festivals(2025)]
    assert got == [
        ("new_year", "元旦", date(2025, 1, 1)),
        ("new_years_eve", "除夕", date(2025, 1, 28)),
        ("spring_festival", "春节", date(2025, 1, 29)),
        ("lantern_festival", "元宵节", date(2025, 2, 12)),
        ("valentines_day", "情人节", date(2025, 2, 14)),
        ("womens_day", "妇女节", date(2025, 3, 8)),
        ("mothers_day", "母亲节", date(2025, 5, 11)),
        ("day_520", "520", date(2025, 5, 20)),
        ("dragon_boat", "端午节", date(2025, 5, 31)),
        ("fathers_day", "父亲节", date(2025, 6, 15)),
        ("day_618", "618", date(2025, 6, 18)),
        # 七夕 is late in 2025 because lunar 2025 has a leap 6th month.
        ("qixi", "七夕", date(2025, 8, 29)),
        ("teachers_day", "教师节", date(2025, 9, 10)),
        ("national_day", "国庆节", date(2025, 10, 1)),
        ("mid_autumn", "中秋节", date(2025, 10, 6)),
        ("double_ninth", "重阳节", date(2025, 10, 29)),
        ("double_11", "双十一", date(2025, 11, 11)),
        ("double_12", "双十二", date(2025, 12, 12)),
        ("christmas", "圣诞节", date(2025, 12, 25)),
    ]


def test_custom_dates_are_added_and_sorted() -> None:
    custom = [
        CustomDate("store_anniversary", "店庆", "Store anniversary", 11, 11),
        # Lunar 12/8 (腊八): lunar 2024's falls on 2025-01-07, lunar 2025's in January 2026.
        CustomDate("laba", "腊八节", "Laba Festival", 12, 8, lunar=True),
    ]
    got = {f.code: f.date for f in festivals(2025, custom)}
    assert got["store_anniversary"] == date(2025, 11, 11)
    assert got["laba"] == date(2025, 1, 7)
    assert list(got)[:2] == ["new_year", "laba"]


def test_feb_29_birthday_is_feb_28_in_common_years() -> None:
    assert solar_birthday_in_year(2, 29, 2024) == date(2024, 2, 29)
    assert solar_birthday_in_year(2, 29, 2025) == date(2025, 2, 28)
    assert solar_birthday_in_year(2, 29, 2100) == date(2100, 2, 28)  # century, not leap
    assert solar_birthday_in_year(2, 29, 2000) == date(2000, 2, 29)


def test_impossible_solar_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        solar_birthday_in_year(4, 31, 2025)
    with pytest.raises(ValueError):
        solar_birthday_in_year(13, 1, 2025)


def test_next_solar_birthday_today_or_later() -> None:
    assert next_birthday("solar", 3, 15, False, date(2025, 3, 15)) == date(2025, 3, 15)
    assert next_birthday("solar", 3, 15, False, date(2025, 3, 16)) == date(2026, 3, 15)
    assert next_birthday("solar", 2, 29, False, date(2025, 3, 1)) == date(2026, 2, 28)
    assert next_birthday("solar", 2, 29, False, date(2027, 3, 1)) == date(2028, 2, 29)


def test_lunar_birthday_follows_the_lunar_year() -> None:
    # Lunar 1/1 is 春节; lunar 8/15 is 中秋 (published dates above).
    assert lunar_birthday_in_year(1, 1, 2026) == SPRING_FESTIVAL[2026]
    assert lunar_birthday_in_year(8, 15, 2027) == MID_AUTUMN[2027]
    # Lunar 1/15 = 春节 + 14 days.
    assert lunar_birthday_in_year(1, 15, 2029) == SPRING_FESTIVAL[2029] + timedelta(days=14)


def test_lunar_birthday_can_fall_in_the_next_gregorian_year() -> None:
    # Lunar 12/8 (腊八) of lunar year 2025 is 2026-01-26: 春节 is 2026-02-17, 腊月 has 29
    # days (no 年三十), so 除夕 is 12/29 = 2026-02-16 and 12/8 is 21 days earlier.
    assert lunar_birthday_in_year(12, 8, 2025) == date(2026, 1, 26)
    # On 2025-03-01 the next lunar 12/8 is therefore in January 2026 ...
    assert next_birthday("lunar", 12, 8, False, date(2025, 3, 1)) == date(2026, 1, 26)
    # ... and on 2025-01-02 it is lunar 2024's, 2025-01-07, not a year away.
    assert next_birthday("lunar", 12, 8, False, date(2025, 1, 2)) == date(2025, 1, 7)


def test_leap_month_birthday_in_a_year_with_that_leap_month() -> None:
    # Lunar 2023 has 闰二月: 二月初一 2023-02-20 (30 days), 闰二月初一 2023-03-22 (29 days),
    # 三月初一 2023-04-20.
    assert lunar_birthday_in_year(2, 1, 2023) == date(2023, 2, 20)
    assert lunar_birthday_in_year(2, 1, 2023, is_leap_month=True) == date(2023, 3, 22)
    assert lunar_birthday_in_year(2, 10, 2023, is_leap_month=True) == date(2023, 3, 31)
    # Lunar 2025 has 闰六月: 闰六月初一 2025-07-25 (29 days, so 七月初一 is 2025-08-23 and
    # 七夕, 七月初七, is 2025-08-29 as published).
    assert lunar_birthday_in_year(6, 1, 2025, is_leap_month=True) == date(2025, 7, 25)
    assert lunar_birthday_in_year(7, 7, 2025) == date(2025, 8, 29)


def test_leap_month_birthday_in_a_year_without_it_uses_the_regular_month() -> None:
    # Born 闰二月初十 (2023); lunar 2024 has no leap month, so 二月初十 of 2024: 2024-03-19
    # (二月初一 2024 is 2024-03-10).
    assert lunar_birthday_in_year(2, 10, 2024, is_leap_month=True) == date(2024, 3, 19)
    assert lunar_birthday_in_year(2, 10, 2024, is_leap_month=True) == lunar_birthday_in_year(
        2, 10, 2024
    )
    # Lunar 2025's leap month is the 6th, not the 2nd: still the regular 2nd month.
    assert lunar_birthday_in_year(2, 10, 2025, is_leap_month=True) == lunar_birthday_in_year(
        2, 10, 2025
    )


def test_day_30_birthday_in_a_29_day_month_moves_to_day_29() -> None:
    # 2023 闰二月 has 29 days (2023-03-22 .. 2023-04-19), so 闰二月三十 is celebrated on 廿九.
    assert lunar_birthday_in_year(2, 30, 2023, is_leap_month=True) == date(2023, 4, 19)
    # 2023 二月 has 30 days, so 二月三十 exists: the day before 闰二月初一.
    assert lunar_birthday_in_year(2, 30, 2023) == date(2023, 3, 21)
    # 2025 闰六月 has 29 days (2025-07-25 .. 2025-08-22).
    assert lunar_birthday_in_year(6, 30, 2025, is_leap_month=True) == date(2025, 8, 22)


def test_impossible_lunar_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        lunar_birthday_in_year(2, 31, 2025)
    with pytest.raises(ValueError):
        lunar_birthday_in_year(0, 1, 2025)


def test_solar_to_lunar_for_showing_a_birthday() -> None:
    assert solar_to_lunar(date(2025, 1, 29)) == LunarDate(2025, 1, 1, False)
    assert solar_to_lunar(date(2025, 1, 28)) == LunarDate(2024, 12, 29, False)  # 除夕
    assert solar_to_lunar(date(2023, 3, 25)) == LunarDate(2023, 2, 4, True)  # 闰二月初四
    assert solar_to_lunar(date(2025, 8, 29)) == LunarDate(2025, 7, 7, False)


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)))
def test_solar_to_lunar_round_trips(when: date) -> None:
    lunar = solar_to_lunar(when)
    assert lunar_birthday_in_year(lunar.month, lunar.day, lunar.year, lunar.is_leap) == when


@settings(max_examples=80, deadline=None)
@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(1, 12),
    st.integers(1, 30),
    st.booleans(),
)
def test_next_lunar_birthday_is_the_earliest_celebration_not_before_today(
    today: date, month: int, day: int, is_leap: bool
) -> None:
    got = next_birthday("lunar", month, day, is_leap, today)
    # Each lunar year's celebration lies inside that lunar year, so celebrations are
    # ordered by lunar year: `got` must be one, and the one a lunar year earlier must be
    # before today.
    year = solar_to_lunar(got).year
    assert got >= today
    assert lunar_birthday_in_year(month, day, year, is_leap) == got
    assert lunar_birthday_in_year(month, day, year - 1, is_leap) < today
    lunar = solar_to_lunar(got)
    assert lunar.month == month and lunar.day <= day


@settings(max_examples=80, deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)), st.dates())
def test_next_solar_birthday_is_the_earliest_celebration_not_before_today(
    today: date, born: date
) -> None:
    got = next_birthday("solar", born.month, born.day, False, today)
    assert got >= today
    assert solar_birthday_in_year(born.month, born.day, got.year - 1) < today
    assert (got.month, got.day) == (born.month, born.day) or (
        (born.month, born.day, got.month, got.day) == (2, 29, 2, 28)
    )
