"""The festivals her customers keep, 2026–2030, against an independent lunar library and published dates."""

from __future__ import annotations

import calendar as gregorian
from datetime import date, timedelta

import pytest
from lunar_python import Solar
from lunardate import LunarDate

from huitouke.automation.triggers import festivals_on, upcoming_festivals
from huitouke.core.occasions import (
    BUILT_IN,
    CustomDate,
    festivals,
    lunar_year_end,
    nth_weekday,
)

YEARS = range(2026, 2031)
LUNAR = {
    "spring_festival": (1, 1),
    "lantern_festival": (1, 15),
    "dragon_boat": (5, 5),
    "qixi": (7, 7),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
}
SOLAR = {
    "new_year": (1, 1),
    "valentines_day": (2, 14),
    "womens_day": (3, 8),
    "day_520": (5, 20),
    "day_618": (6, 18),
    "teachers_day": (9, 10),
    "national_day": (10, 1),
    "double_11": (11, 11),
    "double_12": (12, 12),
    "christmas": (12, 25),
}
# Typed from the published calendars (国务院放假安排, the almanac).
PUBLISHED = {
    ("mothers_day", 2027): date(2027, 5, 9),
    ("new_years_eve", 2027): date(2027, 2, 5),
    ("new_years_eve", 2028): date(2028, 1, 25),
    ("mid_autumn", 2027): date(2027, 9, 15),
    ("qixi", 2027): date(2027, 8, 8),
    ("spring_festival", 2026): date(2026, 2, 17),
    ("new_years_eve", 2026): date(2026, 2, 16),
    ("mothers_day", 2026): date(2026, 5, 10),
    ("fathers_day", 2026): date(2026, 6, 21),
    ("double_11", 2030): date(2030, 11, 11),
}


def dates(year: int) -> dict[str, date]:
    return {f.code: f.date for f in festivals(year)}


def sundays(year: int, month: int) -> list[date]:
    """The Sundays of a month, counted plainly (an independent nth-weekday)."""
    first = date(year, month, 1)
    days = [first + timedelta(days=i) for i in range(gregorian.monthrange(year, month)[1])]
    return [d for d in days if d.isoweekday() == 7]


def eve(year: int) -> date:
    """The last day of lunar year year - 1 as lunardate has it: day 30 of month 12, else 29."""
    try:
        return LunarDate(year - 1, 12, 30).to_solar_date()
    except ValueError:
        return LunarDate(year - 1, 12, 29).to_solar_date()


@pytest.mark.parametrize("year", YEARS)
def test_every_festival_matches_an_independent_computation(year: int) -> None:
    got = dates(year)
    expected = {code: date(year, m, d) for code, (m, d) in SOLAR.items()}
    expected |= {code: LunarDate(year, m, d).to_solar_date() for code, (m, d) in LUNAR.items()}
    expected["new_years_eve"] = eve(year)
    expected["mothers_day"] = sundays(year, 5)[1]
    expected["fathers_day"] = sundays(year, 6)[2]
    assert got == expected
    # 除夕 is the day before 春节, and day 29 or 30 of the 12th month.
    assert got["new_years_eve"] == got["spring_festival"] - timedelta(days=1)


@pytest.mark.parametrize(("code", "year"), sorted(PUBLISHED))
def test_published_dates(code: str, year: int) -> None:
    assert dates(year)[code] == PUBLISHED[code, year]


@pytest.mark.parametrize("year", YEARS)
def test_lunar_python_names_the_same_days(year: int) -> None:
    got = dates(year)
    for occasion in BUILT_IN:
        if occasion.known_as:
            solar = Solar.fromYmd(*_ymd(got[occasion.code]))
            names = [*solar.getFestivals(), *solar.getLunar().getFestivals()]
            assert occasion.known_as in names, (occasion.code, got[occasion.code], names)


def _ymd(day: date) -> tuple[int, int, int]:
    return day.year, day.month, day.day


def test_every_year_has_each_built_in_festival_once() -> None:
    for year in YEARS:
        codes = [f.code for f in festivals(year)]
        assert sorted(codes) == sorted(o.code for o in BUILT_IN)


def test_lunar_year_end_is_day_29_or_30() -> None:
    assert lunar_year_end(2026) == date(2027, 2, 5)  # 腊月廿九 (a short 12th month)
    assert lunar_year_end(2027) == date(2028, 1, 25)  # 腊月廿九 as well
    assert lunar_year_end(2025) == date(2026, 2, 16)  # 腊月廿九


def test_custom_dates_solar_lunar_and_nth_weekday() -> None:
    custom = [
        CustomDate("custom1", "店庆", "店庆", 6, 18),
        CustomDate("custom2", "老板生日", "老板生日", 8, 15, lunar=True),
        CustomDate("custom3", "会员日", "会员日", 5, 2, weekday=6),  # 2nd Sunday of May
        CustomDate("custom4", "月末会", "月末会", 11, -1, weekday=4),  # last Friday of November
        CustomDate("custom5", "第五个周一", "第五个周一", 2, 5, weekday=0),
    ]
    got = {f.code: f.date for f in festivals(2027, custom)}
    assert got["custom1"] == date(2027, 6, 18)
    assert got["custom2"] == date(2027, 9, 15)
    assert got["custom3"] == date(2027, 5, 9)
    assert got["custom4"] == date(2027, 11, 26)
    assert "custom5" not in got  # February 2027 has four Mondays
    assert nth_weekday(2027, 2, 0, 4) == date(2027, 2, 22)


def test_a_rule_finds_its_festivals_and_says_the_next_three() -> None:
    params = {
        "festivals": ["mothers_day", "new_years_eve", "double_11"],
        "custom": [
            {
                "code": "custom1",
                "name": "会员日",
                "month": 5,
                "day": 2,
                "lunar": False,
                "weekday": 6,
            }
        ],
    }
    assert festivals_on(date(2027, 5, 9), params) == ["custom1", "mothers_day"]
    assert festivals_on(date(2027, 2, 5), params) == ["new_years_eve"]
    assert festivals_on(date(2027, 2, 6), params) == []
    upcoming = [(f.code, f.date) for f in upcoming_festivals(params, date(2027, 5, 10))]
    assert upcoming == [
        ("double_11", date(2027, 11, 11)),
        ("new_years_eve", date(2028, 1, 25)),
        ("custom1", date(2028, 5, 14)),
    ]


@pytest.mark.django_db
def test_the_rule_page_says_the_next_three_dates(client, owner, org) -> None:
    from django.urls import reverse
    from tests.automation.conftest import make_rule

    from huitouke.automation.models import Trigger

    rule = make_rule(
        org,
        trigger=Trigger.FESTIVAL,
        actions=[{"type": "add_tag", "tag": "greeted"}],
        params={"festivals": ["mothers_day", "double_11", "christmas"], "days_before": 2},
    )
    client.force_login(owner)
    html = client.get(
        reverse("automation:detail", args=[rule.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    today = date.today()
    expected = upcoming_festivals(rule.params, today)
    assert len(expected) == 3
    assert 'data-testid="next-dates"' in html and "提前 2 天发送" in html
    for festival in expected:
        assert festival.date.isoformat() in html
    assert "母亲节" in html


def test_custom_dates_are_written_and_read_in_the_form() -> None:
    from huitouke.automation.forms import RuleForm, _custom_line

    form = RuleForm.__new__(RuleForm)
    form.cleaned_data = {
        "custom_dates": "会员日,5,2,周日\n店庆，6，18\n生日会,8,15,农历\n月末,11,-1,fri"
    }
    got = RuleForm.clean_custom_dates(form)
    assert got == [
        {"name": "会员日", "month": 5, "day": 2, "lunar": False, "weekday": 6},
        {"name": "店庆", "month": 6, "day": 18, "lunar": False, "weekday": None},
        {"name": "生日会", "month": 8, "day": 15, "lunar": True, "weekday": None},
        {"name": "月末", "month": 11, "day": -1, "lunar": False, "weekday": 4},
    ]
    assert [_custom_line(c) for c in got] == [
        "会员日,5,2,周日",
        "店庆,6,18",
        "生日会,8,15,农历",
        "月末,11,-1,周五",
    ]
