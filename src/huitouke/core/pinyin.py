"""Chinese text read as pinyin: the one routine that customers' name keys and sales' product
search both build on.

`readings("SK-II 神仙水")` is `[("SK-II ", False), ("shen", True), ("xian", True), ("shui", True)]`:
each Chinese character becomes its syllable (pypinyin's reading in context, no tones, lower
case), and every run of other characters comes back as typed, marked False, for the caller to
keep whole (product names) or split into words (names). What the callers add on top:
customers.pinyin reads the surname as a surname (曾 zeng, 单 shan …); sales.queries keeps Latin
parts of a product name whole in its initials.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

_OTHER = "\0"


def _mark_other(chars: str) -> str:
    return _OTHER + chars


def readings(text: str) -> list[tuple[str, bool]]:
    """(piece, is_syllable) in order: a syllable per Chinese character, other runs as typed."""
    out: list[tuple[str, bool]] = []
    for part in lazy_pinyin(text, style=Style.NORMAL, errors=_mark_other, v_to_u=False):
        if part.startswith(_OTHER):
            out.append((part[len(_OTHER) :], False))
        elif part:
            out.append((part.lower(), True))
    return out
