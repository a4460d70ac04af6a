"""Cell values as stores write them (2024年3月5日, ¥1,234.50, +86 138…, 男) into typed values."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.timezone import localdate

from huitouke.customers.validation import birthday_in_future
from huitouke.imports.rows import Birthday

CellValue = str | int | float | Decimal | datetime | date | time | bool | None

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("10000000000")  # 1e10 yuan: beyond any order the model's 12 digits hold
MAX_QUANTITY = 1_000_000
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 with Excel's 1900 leap-year bug
EXCEL_EPOCH_1904 = datetime(1904, 1, 1)


class ParseError(ValueError):
    """A value that cannot be read; `code` keys rows.MESSAGES, `params` fill the template."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"  # BOMs and zero-width marks pasted with text
# Our own exports quote text that would start a formula ('=…, see reports.neutralise): a file
# exported here re-imports with the original text.
QUOTED_FORMULA = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def clean_text(value: CellValue) -> str:
    """The cell as trimmed text ("" for empty); whole floats lose their ".0"."""
    if value is None:
        return ""
    if type(value) is str:  # the hot path: most cells are plain text
        text = value.strip()
        if text and (text[0] in INVISIBLE or text[-1] in INVISIBLE):
            text = text.strip(INVISIBLE).strip()
        if text[:1] == "'" and text.startswith(QUOTED_FORMULA):
            text = text[1:].strip()
        return text
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        # Excel stores every number as a float: a member number 10023 arrives as 10023.0.
        text = str(int(value))
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    else:
        text = str(value)
    return text.strip().strip(INVISIBLE).strip()


def halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation (１２３，￥) folded to their ASCII forms."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-")


# --- amounts -------------------------------------------------------------------------------

_CURRENCY = re.compile(r"^(?:RMB|CNY|人民币|¥)|(?:RMB|CNY|人民币|元|圆|块|¥)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")
_USUAL_AMOUNT = re.compile(
    r"^(?P<s1>[-+])?\s*(?:¥|RMB|CNY|人民币)?\s*(?P<s2>[-+])?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
    r"(?P<wan>万)?\s*(?:元|圆|块|RMB|CNY|人民币)?$",
    re.IGNORECASE,
)
_GROUPED_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def _strip_currency(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _CURRENCY.sub("", text).strip()
    return text


def parse_decimal(value: CellValue) -> Decimal | None:
    """A signed number from a cell, currency marks and thousands separators removed; None if empty."""
    if value is None or isinstance(value, bool | datetime | date | time):
        if value is None:
            return None
        raise ParseError("amount_invalid")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParseError("amount_invalid")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ParseError("amount_invalid")
        # repr gives the shortest text that round-trips, so 19.9 stays 19.9, not 19.89999…
        return Decimal(repr(value))
    text = value.strip()
    if _PLAIN_NUMBER.match(text):
        return Decimal(text)  # the common case, without the clean-up below
    text = halfwidth(clean_text(text))
    if not text:
        return None
    match = _USUAL_AMOUNT.match(text)
    if match:  # ¥1,234.50 / 1234.5元 / -¥12: one regex instead of the general clean-up
        number = Decimal(match["num"].replace(",", ""))
        if match["wan"]:
            number *= 10000
        return -number if "-" in (match["s1"] or "") + (match["s2"] or "") else number
    text = text.replace(" ", "").replace("\u00a0", "")
    negative = False
    if text.startswith("(") and text.endswith(")"):  # accounting style (12.00)
        negative, text = True, text[1:-1]
    text = _strip_currency(text)
    if text[:1] in "+-":
        negative, text = negative or text[0] == "-", text[1:]
    text = _strip_currency(text)  # "-¥12.00" and "¥-12.00" both occur
    if text[:1] in "+-":
        negative, text = negative or text[0] == "-", text[1:]
    scale = 1
    if text.endswith("万"):
        scale, text = 10000, text[:-1]
    if _PLAIN_NUMBER.match(text):
        number = Decimal(text)
    elif _GROUPED_NUMBER.match(text):
        # Commas only as thousands separators: "12,34" could be a European decimal comma.
        number = Decimal(text.replace(",", ""))
    else:
        raise ParseError("amount_invalid")
    number *= scale
    return -number if negative else number


def parse_amount(value: CellValue, *, allow_negative: bool = False) -> Decimal | None:
    """Yuan as a Decimal with 2 places (half-up); None when empty; negatives refused by default."""
    try:
        number = parse_decimal(value)
    except (ParseError, InvalidOperation):
        raise ParseError("amount_invalid") from None
    if number is None:
        return None
    amount = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount == 0:
        amount = abs(amount)  # no "-0.00"
    if amount < 0 and not allow_negative:
        raise ParseError("amount_negative")
    if abs(amount) >= MAX_AMOUNT:
        raise ParseError("amount_too_large")
    return amount


_QTY_UNITS = re.compile(
    r"(?:件|个|盒|瓶|支|套|次|份|张|只|双|条|包|袋|台|罐|片|组|卡|pcs|pc|x)$", re.IGNORECASE
)


def parse_quantity(value: CellValue) -> int | None:
    """A whole number of items (≥ 1) from 2, 2.0, ２件, x2; None when empty."""
    if isinstance(value, str):
        raw = clean_text(value)
        if not raw:
            return None
        if raw.isdigit() and raw.isascii():
            value = int(raw)
        else:
            text = re.sub(r"^[x×*]", "", halfwidth(raw).replace(" ", ""), flags=re.IGNORECASE)
            text = _QTY_UNITS.sub("", text)
            if not text:
                raise ParseError("quantity_invalid")
            value = text
    try:
        number = parse_decimal(value)
    except (ParseError, InvalidOperation):
        raise ParseError("quantity_invalid") from None
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ParseError("quantity_invalid")
    if number <= 0:
        raise ParseError("quantity_not_positive")
    if number > MAX_QUANTITY:
        raise ParseError("quantity_too_large")
    return int(number)


# --- dates ---------------------------------------------------------------------------------

_TIME = (
    r"(?:\s*(?P<ampm1>上午|下午|晚上|中午|凌晨|AM|PM))?\s*"
    r"(?P<H>\d{1,2})\s*[:时點点]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:分]\s*(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?\s*秒?|\s*分)?"
    r"(?:\s*(?P<ampm2>AM|PM))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:(?:\s+|T|(?<=[日号]))" + _TIME + r")?$",
    re.IGNORECASE,
)
_DMY = re.compile(
    r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4})(?:(?:\s+|T)" + _TIME + r")?$",
    re.IGNORECASE,
)
_SIMPLE_YMD = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_COMPACT = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$"
)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
MIN_YEAR, MAX_YEAR = 1900, 2100


def excel_serial_to_datetime(serial: float | Decimal, *, epoch_1904: bool = False) -> datetime:
    """The datetime of an Excel serial number (days since the workbook epoch, fraction = time)."""
    number = Decimal(str(serial))
    days = int(number)
    seconds = int(((number - days) * 86400).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    epoch = EXCEL_EPOCH_1904 if epoch_1904 else EXCEL_EPOCH
    return epoch + timedelta(days=days, seconds=seconds)


def _serial(value: float | Decimal, raw: object, epoch_1904: bool) -> datetime:
    # Serials 10000–99999 are 1927–2173; smaller numbers in a date column are almost surely junk.
    if not 10000 <= value < 100000:
        raise ParseError("date_invalid")
    return _check_range(excel_serial_to_datetime(value, epoch_1904=epoch_1904), raw)


def _check_range(moment: datetime, raw: object) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ParseError("date_out_of_range")
    return moment


def _build(year: int, month: int, day: int, groups: dict[str, str | None] | None) -> datetime:
    hour = minute = second = micro = 0
    tzinfo: timezone | None = None
    if groups and groups.get("H") is not None:
        hour, minute = int(groups["H"] or 0), int(groups["M"] or 0)
        second = int(groups.get("S") or 0)
        frac = groups.get("f")
        micro = int((frac or "0").ljust(6, "0")) if frac else 0
        ampm = (groups.get("ampm1") or groups.get("ampm2") or "").upper()
        if (ampm in ("下午", "晚上", "PM") and hour < 12) or (ampm == "中午" and hour < 11):
            hour += 12
        elif ampm in ("上午", "凌晨", "AM") and hour == 12:
            hour = 0
        tz = groups.get("tz")
        if tz:
            tzinfo = _tz(tz)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError("date_out_of_range")
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tzinfo)
    except ValueError:
        raise ParseError("date_invalid") from None


def _tz(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_datetime(value: CellValue, *, epoch_1904: bool = False) -> datetime | None:
    """A naive datetime (aware only when the text carries an offset); None when empty."""
    if type(value) is str:
        # Fast path for the usual cell, ISO text (2024-03-05 14:03): ASCII needs no clean-up
        # beyond the strip; anything fromisoformat refuses takes the general path below.
        text = value.strip()
        if text.isascii() and len(text) >= 10 and text[4] == "-" and text[7] == "-":
            try:
                return _check_range(datetime.fromisoformat(text), text)
            except ValueError:
                pass
    if value is None:
        return None
    if isinstance(value, datetime):
        return _check_range(value, value)
    if isinstance(value, date):
        return _check_range(datetime(value.year, value.month, value.day), value)
    if isinstance(value, bool | time):
        raise ParseError("date_invalid")
    if isinstance(value, int | float | Decimal):
        if 19000101 <= value <= 21001231 and value == int(value):
            return parse_datetime(str(int(value)))  # 20240305 typed as a number
        return _serial(value, value, epoch_1904)
    text = clean_text(value)
    if not text:
        return None
    text = halfwidth(text)
    # Fast path: ISO forms (2024-03-05, 2024-03-05 14:03, 2024-03-05T14:03:00+08:00).
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            return _check_range(datetime.fromisoformat(text), text)
        except ValueError:
            pass
    match = _SIMPLE_YMD.match(text)
    if match:  # 2024/3/5 14:03: the usual spreadsheet form, without the general pattern
        y, m, d, hh, mm, ss = match.groups()
        if not MIN_YEAR <= int(y) <= MAX_YEAR:
            raise ParseError("date_out_of_range")
        try:
            return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            raise ParseError("date_invalid") from None
    match = _YMD.match(text)
    if match:
        g = match.groupdict()
        return _build(int(g["y"]), int(g["m"]), int(g["d"]), g)
    match = _COMPACT.match(text)
    if match:
        g = match.groupdict()
        return _build(int(g["y"]), int(g["m"]), int(g["d"]), g)
    match = _DMY.match(text)
    if match:
        g = match.groupdict()
        a, b = int(g["a"]), int(g["b"])
        # 3/5/2024 is March 5th in the US and 3 May elsewhere: accept only what cannot be misread.
        if a > 12 >= b:
            month, day = b, a
        elif b > 12 >= a or a == b:
            month, day = a, b
        else:
            raise ParseError("date_ambiguous")
        return _build(int(g["y"]), month, day, g)
    if _SERIAL.match(text):
        return _serial(Decimal(text), text, epoch_1904)
    raise ParseError("date_invalid")


def parse_date(value: CellValue, *, epoch_1904: bool = False) -> date | None:
    """The calendar date of a cell (any time of day is dropped); None when empty."""
    moment = parse_datetime(value, epoch_1904=epoch_1904)
    return None if moment is None else moment.date()


# --- birthdays -----------------------------------------------------------------------------

_LUNAR_PREFIX = re.compile(r"^(?:农历|阴历|農曆|陰曆|lunar)\s*[:：]?\s*", re.IGNORECASE)
_SOLAR_PREFIX = re.compile(r"^(?:公历|阳历|新历|公曆|陽曆|solar)\s*[:：]?\s*", re.IGNORECASE)
_LUNAR_MONTHS = {"正": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                 "九": 9, "十": 10, "十一": 11, "冬": 11, "十二": 12, "腊": 12, "臘": 12}  # fmt: skip
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_LUNAR_TEXT = re.compile(
    r"^(?:(?P<y>\d{4})\s*年?\s*)?(?P<leap>闰|閏)?(?P<m>正|冬|腊|臘|十[一二]?|[一二三四五六七八九])月"
    r"(?P<d>初[一二三四五六七八九十]|十[一二三四五六七八九]?|二十|廿[一二三四五六七八九]|三十)$"
)
_MONTH_DAY = re.compile(r"^(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?$")
_YEAR_MONTH_DAY = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<leap>闰)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?$"
)


def _lunar_day(text: str) -> int:
    if text.startswith("初"):
        return 10 if text[1] == "十" else _CN_DIGITS[text[1]]
    if text.startswith("廿"):
        return 20 + _CN_DIGITS[text[1]]
    if text == "二十":
        return 20
    if text == "三十":
        return 30
    return 10 + (_CN_DIGITS[text[1]] if len(text) > 1 else 0)  # 十, 十一 … 十九


def parse_birthday(value: CellValue, *, epoch_1904: bool = False) -> Birthday | None:
    """A birthday: 1990-03-05, 3月5日 (no year), 农历三月初五, 农历1990-03-05; None when empty."""
    if isinstance(value, datetime | date | int | float | Decimal) and not isinstance(value, bool):
        try:
            day = parse_date(value, epoch_1904=epoch_1904)
        except ParseError:
            raise ParseError("birthday_invalid") from None
        return None if day is None else Birthday(day.month, day.day, day.year)
    text = halfwidth(clean_text(value)).replace(" ", "")
    if not text:
        return None
    lunar = bool(_LUNAR_PREFIX.match(text))
    text = _LUNAR_PREFIX.sub("", _SOLAR_PREFIX.sub("", text))
    match = _LUNAR_TEXT.match(text)
    if match:  # written with Chinese month and day names: always the lunar calendar
        year = int(match["y"]) if match["y"] else None
        return _birthday(
            year, _LUNAR_MONTHS[match["m"]], _lunar_day(match["d"]), True, bool(match["leap"])
        )
    match = _MONTH_DAY.match(text)
    if match:
        return _birthday(None, int(match["m"]), int(match["d"]), lunar, False)
    match = _YEAR_MONTH_DAY.match(text)
    if match:
        return _birthday(
            int(match["y"]), int(match["m"]), int(match["d"]), lunar, bool(match["leap"])
        )
    try:
        day = parse_date(text, epoch_1904=epoch_1904)
    except ParseError:
        raise ParseError("birthday_invalid") from None
    assert day is not None  # text is not empty
    return _birthday(day.year, day.month, day.day, lunar, False)


def _birthday(year: int | None, month: int, day: int, lunar: bool, leap: bool) -> Birthday:
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError("birthday_invalid")
    if lunar:
        if not (1 <= month <= 12 and 1 <= day <= 30):
            raise ParseError("birthday_invalid")
    else:
        if leap:
            raise ParseError("birthday_invalid")
        try:
            # A leap year stands in when the year is unknown, so 2月29日 is accepted.
            date(year or 2000, month, day)
        except ValueError:
            raise ParseError("birthday_invalid") from None
    if birthday_in_future("lunar" if lunar else "solar", year, month, day, localdate()):
        raise ParseError("birthday_future")  # the same rule as the forms and the API
    return Birthday(month, day, year, lunar, leap)


# --- phones, booleans, gender, text ----------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-().·/]")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?e\+?\d+$", re.IGNORECASE)
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def parse_phone(value: CellValue) -> str | None:
    """A phone as a string: mainland mobiles as 11 digits, others "+<digits>" or local digits."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise ParseError("phone_invalid")
        value = str(int(value))
    text = halfwidth(clean_text(value))
    if not text:
        return None
    if len(text) == 11 and _CN_MOBILE.match(text):
        return text  # the common case
    if _SCIENTIFIC.match(text.replace(" ", "")):
        raise ParseError("excel_scientific")
    if text.endswith(".0"):
        text = text[:-2]  # a number cell that went through text once
    text = re.sub(r"(?:转|ext\.?|x)\s*\d+$", "", text, flags=re.IGNORECASE)  # drop extensions
    text = _PHONE_SEPARATORS.sub("", text)
    plus = text.startswith("+")
    digits = text.lstrip("+")
    if not digits.isdigit() or not digits.isascii():
        raise ParseError("phone_invalid")
    if digits.startswith("00"):
        digits, plus = digits[2:], True  # 00 is the international prefix
    if plus:
        if digits.startswith("86") and _CN_MOBILE.match(digits[2:]):
            return digits[2:]
        if digits.startswith("86") and digits[2:3] != "1" and 9 <= len(digits) - 2 <= 11:
            return "0" + digits[2:]  # +86 21 1234 5678 -> 02112345678
        if 8 <= len(digits) <= 15:
            return "+" + digits
        raise ParseError("phone_invalid")
    if len(digits) == 13 and digits.startswith("86") and _CN_MOBILE.match(digits[2:]):
        return digits[2:]
    if digits.startswith("1"):
        if _CN_MOBILE.match(digits):
            return digits
        raise ParseError("phone_invalid")
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        return digits  # landline with area code
    if 7 <= len(digits) <= 8:
        return digits  # local landline
    raise ParseError("phone_invalid")


_TRUE = {"是", "对", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "同意", "已", "on"}
_FALSE = {"否", "不", "错", "无", "没有", "n", "no", "false", "f", "0", "×", "✗", "✘", "不同意", "未",
          "off"}  # fmt: skip


def parse_bool(value: CellValue) -> bool | None:
    """是/否, Y/N, yes/no, true/false, 1/0, √/×; None when empty."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = halfwidth(clean_text(value)).casefold()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParseError("bool_invalid")


_FEMALE = {"女", "女士", "女性", "小姐", "f", "female", "woman", "w"}
_MALE = {"男", "男士", "男性", "先生", "m", "male", "man"}
_UNKNOWN = {"未知", "保密", "不详", "-", "/", "unknown", "u", "x"}


def parse_gender(value: CellValue) -> str | None:
    """The gender as customers.models.Gender ("f"/"m") from 男/女/M/F/先生/女士; None if unknown."""
    text = halfwidth(clean_text(value)).casefold()
    if not text or text in _UNKNOWN:
        return None
    if text in _FEMALE:
        return "f"
    if text in _MALE:
        return "m"
    raise ParseError("gender_invalid")


_TAG_SEPARATORS = re.compile(r"[,，;；、|/\n]+")


def parse_tags(value: CellValue) -> tuple[str, ...]:
    """Tags split on commas, semicolons, 、, | and /; order kept, duplicates dropped."""
    text = clean_text(value)
    seen: dict[str, None] = {}
    for part in _TAG_SEPARATORS.split(text):
        tag = part.strip()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_email(value: CellValue) -> str | None:
    """An email address, lower-cased domain; None when empty."""
    text = halfwidth(clean_text(value))
    if not text:
        return None
    if not _EMAIL.match(text):
        raise ParseError("email_invalid")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


_DISCOUNT_RATE = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>折|%)$")


def parse_discount(value: CellValue, gross: Decimal | None) -> Decimal | None:
    """A discount in yuan: an amount (10.00, ¥10), or a rate (9折, 8.8折, 90%) applied to `gross`."""
    text = halfwidth(clean_text(value)).replace(" ", "") if isinstance(value, str) else None
    match = _DISCOUNT_RATE.match(text) if text else None
    if match is None:
        try:
            return parse_amount(value)
        except ParseError:
            raise ParseError("discount_invalid") from None
    number = Decimal(match["n"])
    # 90% = 0.9; 9折 = 0.9; 8.8折 and 88折 = 0.88.
    divisor = 100 if match["unit"] == "%" or number >= 10 else 10
    rate = number / divisor
    if not 0 <= rate <= 1:
        raise ParseError("discount_invalid")
    if gross is None:
        raise ParseError("discount_needs_price")
    return (gross * (1 - rate)).quantize(CENT, rounding=ROUND_HALF_UP)
