"""Pinyin keys of a customer's name, so she is found the way staff type: zhanglimei, zlm, zhang li mei.

`name_keys("张莉梅")` is `("zhanglimei", "zlm")`. The surname takes its reading as a surname
(曾 zeng, 单 shan, 解 xie, 区 ou, 仇 qiu, 朴 piao, 查 zha …, and the compound surnames of
customers.names); the rest of the name takes pypinyin's reading in context. Letters and digits
that are not Chinese are kept (lower case) and each word gives its first letter to the initials,
so "Anna Li" is ("annali", "al"). The keys are stored on Customer (name_pinyin, name_initials)
and matched by prefix, which the (organisation, key) indexes answer.
"""

from __future__ import annotations

import re

from huitouke.core.pinyin import readings
from huitouke.customers.names import COMPOUND_SURNAMES, surname_of

PINYIN_MAX = 200
INITIALS_MAX = 50

# Surnames whose reading as a surname differs from the character's common reading (多音字姓氏).
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "曾": ("zeng",),
    "单": ("shan",),
    "解": ("xie",),
    "区": ("ou",),
    "仇": ("qiu",),
    "朴": ("piao",),
    "查": ("zha",),
    "盖": ("ge",),
    "缪": ("miao",),
    "翟": ("zhai",),
    "乐": ("yue",),
    "覃": ("qin",),
    "尉": ("yu",),
    "种": ("chong",),
    "秘": ("bi",),
    "冼": ("xian",),
    "洗": ("xian",),
    "句": ("gou",),
    "员": ("yun",),
    "召": ("shao",),
    "折": ("she",),
    "繁": ("po",),
    "黑": ("he",),
    "牟": ("mou",),
    "隗": ("wei",),
    "谌": ("chen",),
    "宿": ("su",),
    "薄": ("bo",),
    "柏": ("bai",),
    "祭": ("zhai",),
    "蕃": ("pi",),
    "能": ("nai",),
    "华": ("hua",),
    "任": ("ren",),
    "沈": ("shen",),
    "石": ("shi",),
    "万俟": ("mo", "qi"),
    "尉迟": ("yu", "chi"),
    "长孙": ("zhang", "sun"),
    "单于": ("chan", "yu"),
    "乐正": ("yue", "zheng"),
    "澹台": ("tan", "tai"),
    "令狐": ("ling", "hu"),
    "亓官": ("qi", "guan"),
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[0-9a-z]+")


def _syllables(text: str) -> list[str]:
    """Pinyin syllables of the Chinese characters (core.pinyin), and the other words, in lower
    case; a character pypinyin does not know is left out."""
    out: list[str] = []
    for piece, _syllable in readings(text):
        piece = piece.lower()
        if _CJK.search(piece):
            continue  # a character pypinyin does not know
        out.extend(_WORD.findall(piece))
    return out


def name_keys(name: str | None) -> tuple[str, str]:
    """(full pinyin, initials) of a name, both lower case without spaces; ("", "") for none."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syllables: list[str] = []
    rest = name
    if _CJK.match(name):
        surname = surname_of(name)
        reading = SURNAME_READINGS.get(surname)
        if reading is None and surname in COMPOUND_SURNAMES:
            reading = tuple(_syllables(surname))
        if reading is None:
            reading = SURNAME_READINGS.get(surname[:1]) or tuple(_syllables(surname[:1]))
            surname = surname[:1]
        syllables.extend(reading)
        rest = name[len(surname) :]
    syllables.extend(_syllables(rest))
    return "".join(syllables)[:PINYIN_MAX], "".join(s[0] for s in syllables)[:INITIALS_MAX]


def search_key(text: str) -> str:
    """What a typed search is compared with: lower case letters and digits, no spaces."""
    return "".join(_WORD.findall(text.lower()))


def looks_like_pinyin(text: str) -> bool:
    """Latin letters (spaces and apostrophes allowed), the way pinyin is typed: zlm, zhang li mei."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z '’-]*", text.strip()))
