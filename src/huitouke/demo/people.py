"""Who the demo customers are: names, mobiles, birthdays, cities, archive fields, families."""

from __future__ import annotations

import random
import string
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.demo import names
from huitouke.demo.draw import cum, pick

_SOURCES = (
    "walk_in",
    "referral",
    "wechat",
    "meituan",
    "douyin",
    "xiaohongshu",
    "event",
    "online_shop",
)
_SOURCE_CUM = cum((30, 15, 15, 12, 10, 10, 5, 3))
_WHITE_COLLAR = ("教师", "会计", "设计师", "程序员", "律师", "HR")


class People:
    """Draws customer profiles from one seeded generator; mobiles are unique across the run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_phones: set[str] = set()
        # Common surnames (王, 李, 张 …) far more often than rare ones.
        self.surname_cum = cum([1 / (rank + 4) for rank in range(len(names.SURNAMES))])
        self.city_cum = cum([w for _c, _t, w in names.CITIES])
        self.templates = {spec["key"]: spec for spec in INDUSTRY_TEMPLATES["beauty"]}

    def profile(
        self, k: int, gender: str, earlier: int
    ) -> tuple[dict[str, Any], set[str], list[dict[str, Any]]]:
        """Customer number `k`'s fields, tags and family; `earlier` customers may have referred her."""
        rng = self.rng
        city, tier, _w = pick(rng, names.CITIES, self.city_cum)
        source = pick(rng, _SOURCES, _SOURCE_CUM)
        tags: set[str] = set()
        fields: dict[str, Any] = {
            "external_id": f"M{k + 1:06d}",
            "name": self.person_name(gender),
            "phone": self.phone() if rng.random() < 0.97 else None,
            "gender": gender,
            "city": city,
            "city_tier": tier,
            "source": source,
            "ethnicity": "汉族"
            if rng.random() < 0.9
            else rng.choice(("", "回族", "满族", "壮族", "土家族")),
        }
        if source == "referral" and earlier:
            fields["referrer_index"] = rng.randrange(earlier)
            tags.add("老带新")
        if source == "meituan" and rng.random() < 0.5:
            tags.add("团购客")
        if rng.random() < 0.6:
            fields["wechat_id"] = "wxid_" + "".join(
                rng.choices(string.ascii_lowercase + string.digits, k=10)
            )
        if rng.random() < 0.15:
            fields["email"] = (
                f"{rng.randrange(10**7, 10**10)}@{rng.choice(('qq.com', '163.com', '126.com'))}"
            )
        if rng.random() < 0.4:
            district = rng.choice(names.DISTRICTS) if city == "杭州" else ""
            fields["address"] = (
                f"{city}市{district}{rng.choice(names.STREETS)}{rng.randint(1, 999)}号"
            )
        if rng.random() < 0.3:
            fields["budget"] = Decimal(rng.choice((500, 1000, 2000, 3000, 5000)))
        if rng.random() < 0.8:
            self.birthday(fields, 1965, 2005, 0.2)
            if fields["birth_year"] and fields["birth_year"] >= 2002 and rng.random() < 0.6:
                tags.add("学生")
        fields["consent_sms"] = rng.random() < 0.85
        fields["consent_email"] = rng.random() < 0.6
        fields["consent_wechat"] = rng.random() < 0.92
        if rng.random() < 0.45:
            fields["custom"] = self.archive(tags)
            if fields["custom"].get("occupation") in _WHITE_COLLAR:
                tags.add("白领")
        if rng.random() < 0.15:
            tags.add("敏感肌")
        if rng.random() < 0.1:
            tags.add("价格敏感")
        family = self.family(fields, tags)
        if rng.random() < 0.1:
            fields["notes"] = rng.choice(
                (
                    "周末才有空",
                    "喜欢安静的包间",
                    "对香味敏感",
                    "老客户介绍来的",
                    "怕疼，护理时手法要轻",
                )
            )
        return fields, tags, family

    def person_name(self, gender: str) -> str:
        rng = self.rng
        if rng.random() < 0.01:
            surname = rng.choice(names.COMPOUND_SURNAMES)
        else:
            surname = pick(rng, names.SURNAMES, self.surname_cum)
        pool = names.MALE_GIVEN if gender == "m" else names.FEMALE_GIVEN
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
        return surname + given

    def phone(self) -> str:
        rng = self.rng
        while True:
            # 13x, 15x (154 is not a mobile range) and 18x, written as normalise_phone writes them.
            prefix = rng.choice(("13", "15", "18")) + rng.choice(
                "012356789" if rng.random() < 0.5 else "0123456789"
            )
            if prefix == "154":
                continue
            number = f"+86{prefix}{rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def birthday(
        self, fields: dict[str, Any], first_year: int, last_year: int, lunar_share: float
    ) -> None:
        rng = self.rng
        year = rng.randint(first_year, last_year)
        if rng.random() < lunar_share:
            fields.update(
                birthday_kind="lunar", birth_month=rng.randint(1, 12), birth_day=rng.randint(1, 29)
            )
        else:
            day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
            fields.update(birthday_kind="solar", birth_month=day.month, birth_day=day.day)
        fields.update(birth_year=year if rng.random() < 0.8 else None, birth_leap_month=False)

    def archive(self, tags: set[str]) -> dict[str, Any]:
        """Archive fields (the industry template's keys) filled the way a beautician would."""
        rng = self.rng
        text = {
            "occupation": names.OCCUPATIONS,
            "title": names.TITLES,
            "employer": names.EMPLOYERS,
            "preferences": names.PREFERENCES,
            "hobbies": names.HOBBIES,
            "reasons_to_buy": names.REASONS_TO_BUY,
            "reasons_not_to_buy": names.REASONS_NOT_TO_BUY,
            "allergies": names.ALLERGIES,
        }
        custom: dict[str, Any] = {}
        for key, spec in self.templates.items():
            if rng.random() > 0.6:
                continue
            kind = spec.get("type", "text")
            if kind == "choice":
                custom[key] = rng.choice(spec["choices"])
            elif kind == "multi":
                custom[key] = sorted(
                    rng.sample(spec["choices"], rng.randint(1, 3)), key=spec["choices"].index
                )
            elif key in text:
                value = rng.choice(text[key])
                if value:
                    custom[key] = value
        if custom.get("skin_type") == "敏感":
            tags.add("敏感肌")
        if custom.get("occupation") == "学生":
            tags.add("学生")
        return custom

    def family(self, fields: dict[str, Any], tags: set[str]) -> list[dict[str, Any]]:
        rng = self.rng
        structure = fields.get("custom", {}).get("family_structure")
        if structure not in ("已婚有孩", "三代同堂") and rng.random() > 0.12:
            return []
        members: list[dict[str, Any]] = []
        surname = fields["name"][:1]
        for _i in range(1 if rng.random() < 0.7 else 2):
            child_gender = rng.choice("fm")
            child: dict[str, Any] = {
                "relation": "child",
                "gender": child_gender,
                "name": surname + rng.choice(names.CHILD_GIVEN) + rng.choice(names.CHILD_GIVEN),
            }
            self.birthday(child, 2008, 2022, 0.1)
            child["birth_year"] = child["birth_year"] or 2015
            members.append(child)
        if rng.random() < 0.4:
            spouse: dict[str, Any] = {
                "relation": "spouse",
                "gender": "m" if fields["gender"] == "f" else "f",
            }
            spouse["name"] = self.person_name(spouse["gender"])
            if rng.random() < 0.6:
                self.birthday(spouse, 1962, 2000, 0.25)
            members.append(spouse)
        if fields["gender"] == "f":
            tags.add("宝妈")
        return members
