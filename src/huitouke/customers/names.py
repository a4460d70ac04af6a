"""Chinese names: the surname of a full name (compound surnames included) and the salutation."""

from __future__ import annotations

# The compound surnames of the 百家姓 (and the few others in common use today); every entry has
# two characters, tried before the single-character surname.
_COMPOUND = """
    万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于
    太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙
    端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌
    微生 梁丘 左丘 东门 西门 南宫 第五 公输 公仪 公户 公玉 公仲 公上 公门 公山 公坚 左人 独孤
    """
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND.split())


def surname_of(name: str) -> str:
    """欧阳晶 → 欧阳, 陈静 → 陈; a name of two characters that is itself a compound keeps it."""
    name = (name or "").strip()
    if len(name) >= 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def salutation_for(name: str, gender: str, override: str = "") -> str:
    """The override when staff set one; else 欧阳女士 / 陈先生; the full name when the gender is unknown."""
    if override and override.strip():
        return override.strip()
    surname = surname_of(name)
    if gender == "f" and surname:
        return f"{surname}女士"
    if gender == "m" and surname:
        return f"{surname}先生"
    return (name or "").strip()
