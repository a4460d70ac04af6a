"""Cell parsers: dates, amounts, quantities, phones, booleans, gender, birthdays, discounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.imports.parsing import (
    ParseError,
    parse_amount,
    parse_birthday,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_discount,
    parse_email,
    parse_gender,
    parse_phone,
    parse_quantity,
    parse_tags,
)
from huitouke.imports.rows import Birthday

FULLWIDTH = str.maketrans("0123456789.,-:/ ", "０１２３４５６７８９．，－：／　")


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ParseError) as info:
        call(*args, **kwargs)
    return info.value.code


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024/3/5", datetime(2024, 3, 5)),
        ("2024-03-05 14:03", datetime(2024, 3, 5, 14, 3)),
        ("2024-03-05T14:03:00", datetime(2024, 3, 5, 14, 3)),
        ("2024年3月5日", datetime(2024, 3, 5)),
        ("2024年3月5日 14:03", datetime(2024, 3, 5, 14, 3)),
        ("2024年3月5日14时03分", datetime(2024, 3, 5, 14, 3)),
        ("2024.3.5", datetime(2024, 3, 5)),
        ("20240305", datetime(2024, 3, 5)),
        ("20240305140311", datetime(2024, 3, 5, 14, 3, 11)),
        ("2024/3/5 14:03:11", datetime(2024, 3, 5, 14, 3, 11)),
        ("2024/3/5 下午2:03", datetime(2024, 3, 5, 14, 3)),
        ("2024/3/5 2:03 PM", datetime(2024, 3, 5, 14, 3)),
        ("2024/3/5 上午12:30", datetime(2024, 3, 5, 0, 30)),
        ("  2024-03-05\t", datetime(2024, 3, 5)),
        ("２０２４－０３－０５", datetime(2024, 3, 5)),
        ("13/3/2024", datetime(2024, 3, 13)),  # only day/month can be meant
        ("3/13/2024 9:15", datetime(2024, 3, 13, 9, 15)),  # only month/day can be meant
        ("45356", datetime(2024, 3, 5)),  # Excel serial typed as text
        (45356, datetime(2024, 3, 5)),  # 2024-01-01 is 45292; +31 (Jan) +29 (Feb) +4
        (45356.5, datetime(2024, 3, 5, 12)),
        (45356.25, datetime(2024, 3, 5, 6)),
        (20240305, datetime(2024, 3, 5)),  # a yyyymmdd number cell
        (datetime(2024, 3, 5, 14, 3), datetime(2024, 3, 5, 14, 3)),
        (date(2024, 3, 5), datetime(2024, 3, 5)),
    ],
)
def test_dates_in_common_forms(raw: object, expected: datetime) -> None:
    assert parse_datetime(raw) == expected  # type: ignore[arg-type]


def test_offset_in_text_gives_an_aware_datetime() -> None:
    moment = parse_datetime("2024-03-05T14:03:00+08:00")
    assert moment == datetime(2024, 3, 5, 6, 3, tzinfo=UTC)
    assert moment is not None and moment.utcoffset() == timedelta(hours=8)


def test_naive_unless_offset_given() -> None:
    moment = parse_datetime("2024-03-05 14:03")
    assert moment is not None and moment.tzinfo is None


def test_1904_workbooks_count_from_1904() -> None:
    # The 1900 and 1904 systems differ by 1462 days: 45356 - 1462 = 43894.
    assert parse_datetime(43894, epoch_1904=True) == datetime(2024, 3, 5)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2024-02-30", "date_invalid"),
        ("2023/2/29", "date_invalid"),
        ("2024-03-05 25:00", "date_invalid"),
        ("3/5/2024", "date_ambiguous"),
        ("1800-01-01", "date_out_of_range"),
        ("昨天", "date_invalid"),
        ("2024-03", "date_invalid"),
        (123, "date_invalid"),  # far below any plausible serial
        (True, "date_invalid"),
    ],
)
def test_bad_dates_are_refused(raw: object, code: str) -> None:
    assert code_of(parse_datetime, raw) == code


def test_empty_date_is_none() -> None:
    assert parse_datetime("") is None
    assert parse_datetime(None) is None
    assert parse_date("  ") is None


def test_parse_date_drops_time() -> None:
    assert parse_date("2024-03-05 23:59") == date(2024, 3, 5)


moments = st.datetimes(min_value=datetime(1928, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@settings(max_examples=80, deadline=None)
@given(moments)
def test_formatted_datetimes_round_trip(moment: datetime) -> None:
    y, mo, d, h, mi, s = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
    texts = [
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.isoformat(),
        f"{y}/{mo}/{d} {h}:{mi:02d}:{s:02d}",
        f"{y}年{mo}月{d}日 {h}:{mi:02d}:{s:02d}",
        f"{y}.{mo}.{d} {h:02d}:{mi:02d}:{s:02d}",
        moment.strftime("%Y%m%d%H%M%S"),
        moment.strftime("%Y-%m-%d %H:%M:%S").translate(FULLWIDTH),
    ]
    for text in texts:
        assert parse_datetime(text) == moment, text


@settings(max_examples=80, deadline=None)
@given(moments)
def test_excel_serials_round_trip(moment: datetime) -> None:
    # Independent computation: whole days since 1899-12-30 plus the fraction of the day.
    delta = moment - datetime(1899, 12, 30)
    serial = delta.days + delta.seconds / 86400
    assert parse_datetime(serial) == moment


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_formatted_dates_round_trip(day: date) -> None:
    texts = [
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}.{day.month}.{day.day}",
        day.strftime("%Y%m%d"),
        day.isoformat(),
    ]
    for text in texts:
        assert parse_date(text) == day, text


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("¥1,234.50", "1234.50"),
        ("1234.5元", "1234.50"),
        ("￥88", "88.00"),
        ("１２３４．５", "1234.50"),
        ("￥１，２３４．５０", "1234.50"),
        ("RMB 12", "12.00"),
        ("12.00 元", "12.00"),
        ("12.345", "12.35"),  # half up
        ("12.344", "12.34"),
        ("0.005", "0.01"),
        ("1.2万", "12000.00"),
        ("1.5万元", "15000.00"),
        (".5", "0.50"),
        ("+7", "7.00"),
        ("1,234,567.891", "1234567.89"),
        (19.9, "19.90"),
        (0.1 + 0.2, "0.30"),
        (1234, "1234.00"),
        (Decimal("3.14159"), "3.14"),
        ("-0", "0.00"),
    ],
)
def test_amounts(raw: object, expected: str) -> None:
    result = parse_amount(raw)  # type: ignore[arg-type]
    assert result == Decimal(expected)
    assert result is not None and result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("-5", "amount_negative"),
        ("¥-12.00", "amount_negative"),
        ("(12.00)", "amount_negative"),
        ("12,34", "amount_invalid"),  # a decimal comma would silently be 1234
        ("1,2345", "amount_invalid"),
        ("abc", "amount_invalid"),
        ("12.3.4", "amount_invalid"),
        ("$12", "amount_invalid"),
        (True, "amount_invalid"),
        (Decimal("NaN"), "amount_invalid"),
        (float("inf"), "amount_invalid"),
        ("99999999999", "amount_too_large"),
    ],
)
def test_bad_amounts_are_refused(raw: object, code: str) -> None:
    assert code_of(parse_amount, raw) == code


def test_negative_amounts_when_allowed() -> None:
    assert parse_amount("-5", allow_negative=True) == Decimal("-5.00")
    assert parse_amount("(12.00)", allow_negative=True) == Decimal("-12.00")
    assert parse_amount("-¥1,200.00", allow_negative=True) == Decimal("-1200.00")


def test_empty_amount_is_none() -> None:
    assert parse_amount("") is None
    assert parse_amount(None) is None
    assert parse_amount(" 元 ".strip(" 元")) is None


cents = st.integers(min_value=0, max_value=99_999_999_99).map(lambda n: Decimal(n).scaleb(-2))


@settings(max_examples=100, deadline=None)
@given(cents)
def test_formatted_amounts_round_trip(amount: Decimal) -> None:
    plain = f"{amount:.2f}"
    texts = [
        plain,
        f"¥{amount:,.2f}",
        f"￥{plain}",
        f"{plain}元",
        f"RMB {amount:,.2f}",
        plain.translate(FULLWIDTH),
        f"{amount:,.2f}".translate(FULLWIDTH) + "元",
    ]
    for text in texts:
        assert parse_amount(text) == amount, text


@settings(max_examples=60, deadline=None)
@given(cents.filter(lambda d: d > 0))
def test_negative_amounts_round_trip_when_allowed(amount: Decimal) -> None:
    for text in (f"-{amount:.2f}", f"-¥{amount:,.2f}", f"({amount:.2f})"):
        assert parse_amount(text, allow_negative=True) == -amount, text
        assert code_of(parse_amount, text) == "amount_negative"


# --- quantities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", 2), (2.0, 2), ("２件", 2), ("x3", 3), ("×4", 4), ("5 盒", 5), (7, 7), ("", None)],
)
def test_quantities(raw: object, expected: int | None) -> None:
    assert parse_quantity(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2.5", "quantity_invalid"),
        ("0", "quantity_not_positive"),
        ("-1", "quantity_not_positive"),
        ("件", "quantity_invalid"),
        ("two", "quantity_invalid"),
        ("2000000", "quantity_too_large"),
    ],
)
def test_bad_quantities(raw: object, code: str) -> None:
    assert code_of(parse_quantity, raw) == code


# --- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("＋８６　１３８００１３８０００", "13800138000"),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
        ("13800138000.0", "13800138000"),
        ("021-12345678", "02112345678"),
        ("(0755) 8888 6666", "075588886666"),
        ("+86 21 1234 5678", "02112345678"),
        ("+1 415 555 0100", "+14155550100"),
        ("87654321", "87654321"),
        ("", None),
    ],
)
def test_phones(raw: object, expected: str | None) -> None:
    assert parse_phone(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1.38001E+10", "excel_scientific"),
        ("12345", "phone_invalid"),
        ("1380013800", "phone_invalid"),  # a digit short
        ("12800138000", "phone_invalid"),  # no mainland mobile starts 12
        ("138abc38000", "phone_invalid"),
    ],
)
def test_bad_phones(raw: object, code: str) -> None:
    assert code_of(parse_phone, raw) == code


# --- booleans, gender, tags, email -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), ("Y", True), ("n", False), ("TRUE", True), ("false", False),
     ("1", True), ("0", False), (1, True), (0, False), ("√", True), ("×", False), (True, True), ("", None)],
)  # fmt: skip
def test_booleans(raw: object, expected: bool | None) -> None:
    assert parse_bool(raw) is expected  # type: ignore[arg-type]


def test_bad_boolean() -> None:
    assert code_of(parse_bool, "maybe") == "bool_invalid"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("男", "m"), ("女", "f"), ("M", "m"), ("f", "f"), ("Female", "f"), ("先生", "m"), ("女士", "f"),
     ("未知", None), ("", None)],
)  # fmt: skip
def test_gender(raw: str, expected: str | None) -> None:
    assert parse_gender(raw) == expected


def test_bad_gender() -> None:
    assert code_of(parse_gender, "猫") == "gender_invalid"


def test_tags_split_on_common_separators() -> None:
    assert parse_tags("VIP，敏感肌;复购、VIP|新客/团购") == (
        "VIP",
        "敏感肌",
        "复购",
        "新客",
        "团购",
    )
    assert parse_tags(None) == ()


def test_email() -> None:
    assert parse_email("Rose@Example.COM") == "Rose@example.com"
    assert parse_email("") is None
    assert code_of(parse_email, "rose@") == "email_invalid"


# --- birthdays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1990-03-05", Birthday(3, 5, 1990)),
        ("1990年3月5日", Birthday(3, 5, 1990)),
        ("3月5日", Birthday(3, 5)),
        ("03-05", Birthday(3, 5)),
        ("2月29日", Birthday(2, 29)),
        ("农历三月初五", Birthday(3, 5, None, lunar=True)),
        ("农历1990年闰四月廿三", Birthday(4, 23, 1990, lunar=True, leap_month=True)),
        ("腊月三十", Birthday(12, 30, None, lunar=True)),
        ("正月十五", Birthday(1, 15, None, lunar=True)),
        ("冬月初十", Birthday(11, 10, None, lunar=True)),
        ("农历1990-03-05", Birthday(3, 5, 1990, lunar=True)),
        ("阴历 8月15", Birthday(8, 15, None, lunar=True)),
        ("公历1990/3/5", Birthday(3, 5, 1990)),
        (datetime(1990, 3, 5), Birthday(3, 5, 1990)),
        (32937, Birthday(3, 5, 1990)),  # serial: (1990-03-05 - 1899-12-30).days
        ("", None),
    ],
)
def test_birthdays(raw: object, expected: Birthday | None) -> None:
    assert parse_birthday(raw) == expected  # type: ignore[arg-type]


def test_serial_birthday_reference() -> None:
    assert (date(1990, 3, 5) - date(1899, 12, 30)).days == 32937


@pytest.mark.parametrize(
    "raw", ["2月30日", "13月1日", "农历十三月初一", "1990-02-30", "生日快乐", "1990年闰3月5日"]
)
def test_bad_birthdays(raw: str) -> None:
    assert code_of(parse_birthday, raw) == "birthday_invalid"


def test_birthday_solar_date() -> None:
    assert Birthday(3, 5, 1990).solar_date() == date(1990, 3, 5)
    assert Birthday(3, 5).solar_date() is None
    assert Birthday(3, 5, 1990, lunar=True).solar_date() is None


# --- discounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "gross", "expected"),
    [
        ("9折", "100", "10.00"),
        ("8.8折", "200", "24.00"),
        ("88折", "200", "24.00"),
        ("90%", "50", "5.00"),
        ("10", None, "10.00"),
        ("¥15.5", "100", "15.50"),
    ],
)
def test_discounts(raw: str, gross: str | None, expected: str) -> None:
    assert parse_discount(raw, Decimal(gross) if gross else None) == Decimal(expected)


def test_rate_discount_needs_a_price() -> None:
    assert code_of(parse_discount, "9折", None) == "discount_needs_price"
    assert code_of(parse_discount, "120%", Decimal(10)) == "discount_invalid"
    assert code_of(parse_discount, "很多", Decimal(10)) == "discount_invalid"
