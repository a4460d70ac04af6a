"""The demo data generator: a two-store beauty salon with two years of believable history.

Customers are simulated one by one with a single seeded `random.Random`, so a seed always gives
the same data. Each buying customer has one or two favourite categories and comes back when one
of them runs out (the category's repurchase cycle times her own pace, with noise); about 30%
stop buying at some point and some of those come back later. Order days lean towards weekends
and the shopping festivals (春节, 38妇女节, 520, 618, 七夕, 双11), which also bring extra gift
orders. Rows are written with `bulk_create` in chunks of customers, then `rebuild_stats` fills
every customer's stats in one pass; recording 30,000 orders one by one would take minutes.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
import string
import time as timer
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from lunar_python import Lunar

from huitouke.accounts.models import Industry, Organisation, Role, Store, User
from huitouke.customers.actions import apply_industry_template
from huitouke.customers.archive_templates import INDUSTRY_TEMPLATES
from huitouke.customers.models import Customer, FamilyMember, Interaction, Tag
from huitouke.demo import names
from huitouke.sales.actions import rebuild_stats
from huitouke.sales.models import (
    Category,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Product,
    Refund,
)

DEMO_PASSWORD = "huitouke-demo"
ORGANISATION_NAME = "玫瑰美颜 Rose Beauty"
TIME_ZONE = "Asia/Shanghai"
WINDOW_DAYS = 730
CHUNK = 500  # customers simulated and written per batch: bounds memory at a million orders
BATCH = 1000  # rows per INSERT where the database allows it (SQLite caps it by parameter count)

POTENTIAL_SHARE = 0.10
STOPPER_SHARE = 0.30  # buyers who stop at some point (silent, then churned)
REACTIVATE_SHARE = 0.30  # of the stoppers, those who come back
FULL_REFUND_RATE = 0.012
PARTIAL_REFUND_RATE = 0.012
EXISTING_SHARE = 0.3  # customers who already came before the two years start
VIP_SPEND = Decimal("8000")
# Calibrated so a buying customer places about 11 orders in two years (30,000 for 3,000 customers).
PACE = 1.27

# (username, role, store index, display name): the owner, a manager per store, three sales staff.
DEMO_ACCOUNTS: tuple[tuple[str, str, int, str], ...] = (
    ("boss", Role.OWNER.value, 0, "林老板"),
    ("manager1", Role.MANAGER.value, 0, "陈店长"),
    ("manager2", Role.MANAGER.value, 1, "周店长"),
    ("staff1", Role.STAFF.value, 0, "小美"),
    ("staff2", Role.STAFF.value, 0, "小雅"),
    ("staff3", Role.STAFF.value, 1, "小琳"),
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

ProgressFn = Callable[[str, int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class DemoLogin:
    """One demo account as printed for the user."""

    username: str
    password: str
    role: str
    store: str
    display_name: str


@dataclass
class DemoSummary:
    """What `generate_demo` wrote, and the time the stats were computed at."""

    organisation_id: int
    as_of: date
    stats_time: datetime
    customers: int = 0
    potential_customers: int = 0
    orders: int = 0
    order_lines: int = 0
    refunds: int = 0
    interactions: int = 0
    family_members: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


# --- plans: what the simulation decides, before anything touches the database --------------------


@dataclass
class _OrderPlan:
    placed_at: datetime
    store: int
    staff_id: int | None
    lines: list[tuple[int, int]]  # (product index, quantity)
    gross: Decimal
    cost: Decimal
    discount: Decimal
    source: str
    refund: str = ""  # "", "full" or "partial"
    refund_amount: Decimal = ZERO
    refund_cost: Decimal = ZERO
    refund_line: int | None = None  # index into lines of the one unit refunded
    refund_at: datetime | None = None


@dataclass
class _CustomerPlan:
    fields: dict[str, Any]
    tags: set[str]
    family: list[dict[str, Any]]
    orders: list[_OrderPlan]
    interactions: list[tuple[str, datetime, str, int | None, int | None]]


@dataclass(frozen=True)
class _Festival:
    first: int  # day indices into the window, inclusive
    last: int
    boost: float  # how much more likely an order falls on these days
    extra: float  # chance an active customer places an extra festival order
    categories: tuple[str, ...]


def _pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _money(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class _World:
    """The fixed parts of the demo (catalogue, staff, calendar) and the per-customer simulation."""

    WEEKDAY = (0.8, 0.85, 0.9, 0.95, 1.15, 1.5, 1.35)  # Monday .. Sunday
    HOURS = tuple(range(10, 22))
    HOUR_CUM = _cum((4, 6, 7, 8, 9, 9, 8, 7, 8, 9, 7, 4))
    SHIFT_DECAY = (1.0, 0.75, 0.5, 0.3)

    def __init__(
        self,
        rng: random.Random,
        as_of: date,
        end: datetime,
        stores: list[Store],
        staff_by_store: list[list[User]],
        categories: list[Category],
        products: list[Product],
        tags: dict[str, Tag],
    ) -> None:
        self.rng = rng
        self.tz = ZoneInfo(TIME_ZONE)
        self.as_of = as_of
        self.end = end
        self.start = as_of - timedelta(days=WINDOW_DAYS - 1)
        self.last_day = WINDOW_DAYS - 1
        self.stores = stores
        self.staff_by_store = [[u.pk for u in s] for s in staff_by_store]
        self.cat_names = [c.name for c in categories]
        self.cycles = {c.name: c.cycle_days or 90 for c in categories}
        self.cat_cum = _cum([w for _n, _c, w in names.CATEGORIES])
        self.products = products
        self.product_cat = [names.PRODUCTS[i][0] for i in range(len(products))]
        cat_ids = {c.name: c.pk for c in categories}
        self.product_cat_ids = [cat_ids[cat] for cat in self.product_cat]
        self.product_by_cat: dict[str, list[int]] = {}
        for i, cat in enumerate(self.product_cat):
            self.product_by_cat.setdefault(cat, []).append(i)
        # Cheaper items sell more often.
        self.product_cum = {
            cat: _cum([1 / math.sqrt(float(products[i].price)) for i in idx])
            for cat, idx in self.product_by_cat.items()
        }
        self.tags = tags
        self.festivals = self._festivals()
        self.day_weight = self._day_weights()
        self.used_phones: set[str] = set()
        surname_weights = [1 / (rank + 4) for rank in range(len(names.SURNAMES))]
        self.surname_cum = _cum(surname_weights)
        self.city_cum = _cum([w for _c, _t, w in names.CITIES])
        self.templates = {spec["key"]: spec for spec in INDUSTRY_TEMPLATES["beauty"]}

    # --- calendar ---------------------------------------------------------------------------------

    def _index(self, day: date) -> int:
        return (day - self.start).days

    def _festivals(self) -> list[_Festival]:
        out: list[_Festival] = []
        for year in range(self.start.year, self.as_of.year + 1):
            spring = Lunar.fromYmd(year, 1, 1).getSolar()
            qixi = Lunar.fromYmd(year, 7, 7).getSolar()
            spring_day = date(spring.getYear(), spring.getMonth(), spring.getDay())
            qixi_day = date(qixi.getYear(), qixi.getMonth(), qixi.getDay())
            specs = (
                # New-year shopping before 春节 (gift boxes), then the stores are quiet for a week.
                (
                    spring_day - timedelta(days=18),
                    spring_day - timedelta(days=2),
                    1.8,
                    0.10,
                    ("礼盒", "香水", "精华"),
                ),
                (spring_day, spring_day + timedelta(days=5), 0.15, 0.0, ()),
                (date(year, 3, 5), date(year, 3, 8), 2.4, 0.10, ("护理疗程", "彩妆", "精华")),
                (date(year, 5, 18), date(year, 5, 20), 2.0, 0.07, ("香水", "彩妆", "礼盒")),
                (date(year, 6, 14), date(year, 6, 18), 2.2, 0.09, ("精华", "面膜", "洁面")),
                (qixi_day - timedelta(days=3), qixi_day, 1.7, 0.05, ("礼盒", "香水")),
                (
                    date(year, 11, 6),
                    date(year, 11, 11),
                    2.8,
                    0.14,
                    ("精华", "面膜", "礼盒", "彩妆"),
                ),
            )
            for first, last, boost, extra, cats in specs:
                a, b = self._index(first), self._index(last)
                if b >= 0 and a <= self.last_day:
                    out.append(_Festival(max(a, 0), min(b, self.last_day), boost, extra, cats))
        return out

    def _day_weights(self) -> list[float]:
        weights = [
            self.WEEKDAY[(self.start + timedelta(days=i)).weekday()] for i in range(WINDOW_DAYS)
        ]
        for fest in self.festivals:
            for i in range(fest.first, fest.last + 1):
                weights[i] *= fest.boost
        return weights

    def shift(self, day: int) -> int:
        """Move a due day by up to three days towards weekends and festivals."""
        days = [d for d in range(day - 3, day + 4) if 0 <= d <= self.last_day]
        if not days:
            return min(max(day, 0), self.last_day)
        cum = _cum([self.day_weight[d] * self.SHIFT_DECAY[abs(d - day)] for d in days])
        return _pick(self.rng, days, cum)

    def at(self, day: int) -> datetime:
        rng = self.rng
        hour = _pick(rng, self.HOURS, self.HOUR_CUM)
        moment = datetime.combine(
            self.start + timedelta(days=day),
            time(hour, rng.randrange(60), rng.randrange(60)),
            self.tz,
        )
        return moment

    def later(self, moment: datetime, min_hours: float, max_hours: float) -> datetime:
        """A moment a little after `moment`, never past the end of the demo window."""
        return min(
            moment + timedelta(hours=self.rng.uniform(min_hours, max_hours)), max(self.end, moment)
        )

    # --- people -------------------------------------------------------------------------------------

    def person_name(self, gender: str) -> str:
        rng = self.rng
        if rng.random() < 0.01:
            surname = rng.choice(names.COMPOUND_SURNAMES)
        else:
            surname = _pick(rng, names.SURNAMES, self.surname_cum)
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

    # --- one customer ---------------------------------------------------------------------------------

    def customer(self, k: int, join_day: int, potential: bool, earlier: int) -> _CustomerPlan:
        """Simulate customer number `k` (0-based); `earlier` customers exist before her (for referrals)."""
        rng = self.rng
        gender = "f" if rng.random() < 0.92 else ("m" if rng.random() < 0.85 else "")
        store = 0 if rng.random() < 0.6 else 1
        owner: int | None = None
        if rng.random() >= 0.03:
            staff = self.staff_by_store[store]
            # Sales staff look after most customers; the store manager keeps some herself.
            owner = staff[0] if rng.random() < 0.25 else rng.choice(staff[1:] or staff)
        city, tier, _w = _pick(rng, names.CITIES, self.city_cum)
        source = _pick(rng, _SOURCES, _SOURCE_CUM)
        tags: set[str] = set()
        fields: dict[str, Any] = {
            "external_id": f"M{k + 1:06d}",
            "name": self.person_name(gender),
            "phone": self.phone() if rng.random() < 0.97 else None,
            "gender": gender,
            "city": city,
            "city_tier": tier,
            "source": source,
            "owner_id": owner,
            "home_store_id": self.stores[store].pk,
            "created_by_id": owner,
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
            if fields["custom"].get("occupation") in (
                "教师",
                "会计",
                "设计师",
                "程序员",
                "律师",
                "HR",
            ):
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

        if potential:
            fields["created_at"] = min(self.at(join_day), self.end)
            interactions = self.potential_contacts(join_day, owner)
            return _CustomerPlan(fields, tags, family, [], interactions)

        mains = [_pick(rng, self.cat_names, self.cat_cum)]
        if rng.random() < 0.55:
            second = _pick(rng, self.cat_names, self.cat_cum)
            if second != mains[0]:
                mains.append(second)
        orders = self.orders(join_day, store, owner, mains)
        fields["created_at"] = orders[0].placed_at - timedelta(minutes=rng.randint(1, 30))
        if "护理疗程" in mains:
            tags.add("爱做护理")
        if "彩妆" in mains and rng.random() < 0.5:
            tags.add("彩妆控")
        spend = sum((o.gross - o.discount - o.refund_amount for o in orders), ZERO)
        if spend >= VIP_SPEND:
            tags.add("VIP")
        return _CustomerPlan(fields, tags, family, orders, self.order_contacts(orders, owner))

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

    def orders(
        self, join_day: int, store: int, owner: int | None, mains: list[str]
    ) -> list[_OrderPlan]:
        """Her purchases: each favourite category comes back after its cycle, scaled by her pace."""
        rng = self.rng
        pace = PACE * math.exp(rng.gauss(0, 0.3))

        def interval(cat: str) -> int:
            return max(7, round(self.cycles[cat] * pace * math.exp(rng.gauss(0, 0.25))))

        # Periods in which she buys: a stopper's ends at her stop day; some stoppers come back.
        periods = [(join_day, self.last_day)]
        if rng.random() < STOPPER_SHARE:
            stop = join_day if rng.random() < 0.3 else rng.randint(join_day, self.last_day)
            periods = [(join_day, stop)]
            if rng.random() < REACTIVATE_SHARE:
                # Half come back recently (so the 回流 flag shows), half after a long break earlier.
                back = (
                    self.last_day - rng.randint(0, 60)
                    if rng.random() < 0.5
                    else stop + rng.randint(200, 400)
                )
                if back > stop + 190 and back <= self.last_day:
                    periods.append((back, self.last_day))

        plans: list[_OrderPlan] = []
        used_days: set[int] = set()
        for first, last in periods:
            due = {mains[0]: first}
            for cat in mains[1:]:
                due[cat] = (
                    first
                    if rng.random() < 0.5
                    else first + round(interval(cat) * rng.uniform(0.2, 1.0))
                )
            while True:
                next_day = min(due.values())
                if next_day > last:
                    break
                day = first if next_day == first else min(max(self.shift(next_day), first), last)
                # Everything due within a week is bought on the same visit.
                cats = [c for c, d in due.items() if d <= day + 7]
                for cat in cats:
                    due[cat] = day + interval(cat)
                if day in used_days:
                    continue
                if rng.random() < 0.25:
                    cats.append(_pick(rng, self.cat_names, self.cat_cum))
                plan = self.order(day, cats, store, owner)
                if plan is None:
                    break
                used_days.add(day)
                plans.append(plan)
            for fest in self.festivals:
                if fest.extra and first <= fest.first <= last and rng.random() < fest.extra:
                    day = rng.randint(fest.first, fest.last)
                    if day not in used_days:
                        plan = self.order(
                            day, [rng.choice(fest.categories)], store, owner, festival=True
                        )
                        if plan is not None:
                            used_days.add(day)
                            plans.append(plan)
        plans.sort(key=lambda p: p.placed_at)
        if not plans:
            # Her first visit was today after the window closed: she still bought something.
            plans.append(self.order(join_day, [mains[0]], store, owner, clamp=True))  # type: ignore[arg-type]
        return plans

    def order(
        self,
        day: int,
        cats: list[str],
        store: int,
        owner: int | None,
        festival: bool = False,
        clamp: bool = False,
    ) -> _OrderPlan | None:
        rng = self.rng
        placed_at = self.at(day)
        if placed_at > self.end:
            if not clamp:
                return None
            placed_at = self.end
        if rng.random() < 0.08:
            store = 1 - store
        staff = self.staff_by_store[store]
        staff_id = owner if owner in staff else rng.choice(staff)
        lines: dict[int, int] = {}
        for cat in cats:
            product = _pick(rng, self.product_by_cat[cat], self.product_cum[cat])
            if cat == "面膜":
                qty = _pick(rng, (1, 2, 3), _MASK_QTY_CUM)
            elif cat == "洁面":
                qty = 1 if rng.random() < 0.85 else 2
            else:
                qty = 1
            lines[product] = lines.get(product, 0) + qty
        line_list = sorted(lines.items())
        gross = sum((self.products[p].price * q for p, q in line_list), ZERO)
        cost = sum((self.products[p].cost * q for p, q in line_list), ZERO)
        discount = ZERO
        r = rng.random()
        if r < (0.45 if festival else 0.25):
            discount = _money(gross * Decimal(rng.choice(("0.05", "0.10", "0.12")))).quantize(
                Decimal(1), ROUND_HALF_UP
            )
        elif r < (0.8 if festival else 0.4) and gross >= 300:
            discount = Decimal(min(int(gross // 300), 3) * 30)
        discount = min(discount, gross - Decimal(1))
        source = _pick(rng, _ORDER_SOURCES, _ORDER_SOURCE_CUM)
        plan = _OrderPlan(
            placed_at, store, staff_id, line_list, gross, cost, _money(discount), source
        )
        r = rng.random()
        if r < FULL_REFUND_RATE + PARTIAL_REFUND_RATE:
            self.refund(plan, full=r < FULL_REFUND_RATE)
        return plan

    def refund(self, plan: _OrderPlan, *, full: bool) -> None:
        rng = self.rng
        net = plan.gross - plan.discount
        plan.refund_at = self.later(plan.placed_at, 2, 24 * 10)
        if full:
            plan.refund, plan.refund_amount, plan.refund_cost = "full", net, plan.cost
            return
        index = rng.randrange(len(plan.lines))
        product, qty = plan.lines[index]
        price = self.products[product].price
        if (len(plan.lines) > 1 or qty > 1) and price < net:
            # One unit returned: its price back, its cost out of the margin.
            plan.refund_line = index
            plan.refund_amount, plan.refund_cost = price, self.products[product].cost
        else:
            # A goodwill part-refund (e.g. a treatment that went badly): money back, nothing returned.
            plan.refund_amount = _money(net * Decimal(rng.choice(("0.2", "0.3", "0.5"))))
        plan.refund = "partial"

    # --- contacts -------------------------------------------------------------------------------------

    def order_contacts(
        self, orders: list[_OrderPlan], owner: int | None
    ) -> list[tuple[str, datetime, str, int | None, int | None]]:
        rng = self.rng
        out: list[tuple[str, datetime, str, int | None, int | None]] = []
        for o in orders:
            staff = owner or o.staff_id
            if rng.random() < 0.15:
                rating = _pick(rng, (5, 4, 3, 2, 1), _RATING_CUM)
                note = rng.choice(
                    names.INTERACTION_NOTES["review"][:4]
                    if rating >= 4
                    else names.INTERACTION_NOTES["review"][4:]
                )
                out.append(("review", self.later(o.placed_at, 1, 72), note, rating, None))
            if rng.random() < 0.12:
                out.append(
                    (
                        "call",
                        self.later(o.placed_at, 48, 24 * 7),
                        rng.choice(names.INTERACTION_NOTES["call"]),
                        None,
                        staff,
                    )
                )
            if rng.random() < 0.15:
                out.append(
                    (
                        "wechat",
                        self.later(o.placed_at, 2, 24 * 14),
                        rng.choice(names.INTERACTION_NOTES["wechat"]),
                        None,
                        staff,
                    )
                )
            if rng.random() < 0.05:
                out.append(
                    (
                        "visit",
                        self.later(o.placed_at, 24 * 5, 24 * 20),
                        rng.choice(names.INTERACTION_NOTES["visit"]),
                        None,
                        staff,
                    )
                )
            if rng.random() < 0.008:
                out.append(
                    (
                        "complaint",
                        self.later(o.placed_at, 1, 48),
                        rng.choice(names.INTERACTION_NOTES["complaint"]),
                        None,
                        staff,
                    )
                )
            if o.refund and o.refund_at is not None:
                out.append(
                    (
                        "after_sale",
                        o.refund_at,
                        rng.choice(names.INTERACTION_NOTES["after_sale"]),
                        None,
                        o.staff_id,
                    )
                )
        return out

    def potential_contacts(
        self, join_day: int, owner: int | None
    ) -> list[tuple[str, datetime, str, int | None, int | None]]:
        """A potential customer (潜客): asked, looked, signed up, but has not bought yet."""
        rng = self.rng
        out: list[tuple[str, datetime, str, int | None, int | None]] = []
        moment = self.at(join_day)
        for _i in range(rng.randint(1, 4)):
            kind = rng.choice(
                ("consultation", "consultation", "visit", "wechat", "favourite", "cart", "event")
            )
            staff = owner if kind in ("consultation", "visit", "wechat") else None
            out.append(
                (
                    kind,
                    min(moment, self.end),
                    rng.choice(names.INTERACTION_NOTES[kind]),
                    None,
                    staff,
                )
            )
            moment = moment + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8))
            if moment > self.end:
                break
        return out


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
_SOURCE_CUM = _cum((30, 15, 15, 12, 10, 10, 5, 3))
_ORDER_SOURCES = (OrderSource.STORE.value, OrderSource.WECHAT.value, OrderSource.ONLINE.value)
_ORDER_SOURCE_CUM = _cum((80, 15, 5))
_MASK_QTY_CUM = _cum((60, 30, 10))
_RATING_CUM = _cum((60, 25, 10, 4, 1))
_PAID, _REFUNDED = OrderStatus.PAID.value, OrderStatus.REFUNDED.value


# --- writing ---------------------------------------------------------------------------------------


def _setup(
    rng: random.Random,
) -> tuple[
    Organisation,
    list[Store],
    list[list[User]],
    list[DemoLogin],
    list[Category],
    list[Product],
    dict[str, Tag],
]:
    organisation = Organisation.objects.create(
        name=ORGANISATION_NAME, industry=Industry.BEAUTY, time_zone=TIME_ZONE
    )
    apply_industry_template(organisation, "beauty")
    stores = [
        Store.objects.create(
            organisation=organisation, name=n, address=a, phone=p, sms_signature="玫瑰美颜"
        )
        for n, a, p in names.STORES
    ]
    staff_by_store: list[list[User]] = [[], []]
    logins = []
    # All six share the demo password: hash it once (argon2 takes a noticeable moment per hash).
    hashed = make_password(DEMO_PASSWORD)
    for username, role, store_index, display in DEMO_ACCOUNTS:
        user = User(
            username=username,
            organisation=organisation,
            role=role,
            store=stores[store_index],
            display_name=display,
            is_staff=role == Role.OWNER,  # the owner may open the Django admin
        )
        user.password = hashed
        user.save()
        if role != Role.OWNER:
            staff_by_store[store_index].append(user)
        logins.append(
            DemoLogin(username, DEMO_PASSWORD, str(role), stores[store_index].name, display)
        )
    categories = [
        Category.objects.create(organisation=organisation, name=n, cycle_days=cycle)
        for n, cycle, _w in names.CATEGORIES
    ]
    by_name = {c.name: c for c in categories}
    products = Product.objects.bulk_create(
        Product(
            organisation=organisation,
            sku=f"SKU-{i + 1:03d}",
            name=n,
            category=by_name[cat],
            price=Decimal(price),
            cost=Decimal(cost),
            use_cycle_days=by_name[cat].cycle_days,
        )
        for i, (cat, n, price, cost) in enumerate(names.PRODUCTS)
    )
    Tag.objects.bulk_create(Tag(organisation=organisation, name=n) for n in names.TAGS)
    tags = {t.name: t for t in Tag.objects.filter(organisation=organisation)}
    return organisation, stores, staff_by_store, logins, categories, products, tags


class _Table:
    """Rows of one model INSERTed with `executemany` and ids chosen here.

    Building a model instance and compiling `bulk_create` SQL costs about three times the insert
    itself; at a million orders that is minutes. Rows are plain tuples prepared with the backend's
    own adapters, so SQLite and PostgreSQL store exactly what the ORM would.
    """

    def __init__(self, model: type[models.Model], now: datetime) -> None:
        ops = connection.ops
        self.model = model
        self.columns: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default: Any = now
            else:
                default = None if f.primary_key else f.get_default()
            convert: Callable[[Any], Any] | None = None
            if isinstance(f, models.DateTimeField):
                convert = ops.adapt_datetimefield_value
            elif isinstance(f, models.JSONField):
                convert = functools.partial(f.get_db_prep_save, connection=connection)
            self.columns.append((f.attname, default, convert))
        self.pk_name = model._meta.pk.attname
        names_sql = ", ".join(ops.quote_name(str(f.column)) for f in model._meta.concrete_fields)
        marks = ", ".join(["%s"] * len(self.columns))
        self.sql = (
            f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({names_sql}) VALUES ({marks})"
        )
        # The database is fresh, so ids simply continue after whatever exists.
        self.next_id = (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1
        self.pending: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> int:
        """Queue one row (attribute names as keys) and return the id it will have."""
        pk = self.next_id
        self.next_id += 1
        row[self.pk_name] = pk
        self.pending.append(
            tuple(
                [
                    row.get(name, default) if convert is None else convert(row.get(name, default))
                    for name, default, convert in self.columns
                ]
            )
        )
        return pk

    def flush(self) -> None:
        if self.pending:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, self.pending)
            self.count += len(self.pending)
            self.pending.clear()


class _Writer:
    """Turns customer plans into rows, chunk by chunk."""

    def __init__(self, world: _World, organisation: Organisation, now: datetime) -> None:
        self.world = world
        self.org_id = organisation.pk
        self.customer_ids: list[int] = []
        self.potential = 0
        through = Customer.tags.through
        self.customers = _Table(Customer, now)
        self.tags = _Table(through, now)
        self.family = _Table(FamilyMember, now)
        self.orders = _Table(Order, now)
        self.lines = _Table(OrderLine, now)
        self.refunds = _Table(Refund, now)
        self.interactions = _Table(Interaction, now)
        # Foreign keys are checked at commit on both databases, but parents go first anyway.
        self.tables = (
            self.customers,
            self.tags,
            self.family,
            self.orders,
            self.lines,
            self.refunds,
            self.interactions,
        )

    def write(self, plans: list[_CustomerPlan]) -> None:
        world, org_id = self.world, self.org_id
        for plan in plans:
            row = dict(plan.fields)
            ref = row.pop("referrer_index", None)
            if ref is not None:
                row["referrer_id"] = self.customer_ids[ref]
            row["organisation_id"] = org_id
            cid = self.customers.add(row)
            self.customer_ids.append(cid)
            self.potential += not plan.orders
            for name in sorted(plan.tags):
                self.tags.add({"customer_id": cid, "tag_id": world.tags[name].pk})
            for member in plan.family:
                self.family.add({"customer_id": cid, **member})
            for o in plan.orders:
                self.order(cid, o)
            for kind, at, note, rating, staff in plan.interactions:
                self.interactions.add(
                    {
                        "organisation_id": org_id,
                        "customer_id": cid,
                        "staff_id": staff,
                        "kind": kind,
                        "occurred_at": at,
                        "note": note,
                        "rating": rating,
                        "created_at": at,
                    }
                )
        for table in self.tables:
            table.flush()

    def order(self, customer_id: int, o: _OrderPlan) -> None:
        world = self.world
        full = o.refund == "full"
        order_id = self.orders.add(
            {
                "organisation_id": self.org_id,
                "store_id": world.stores[o.store].pk,
                "customer_id": customer_id,
                "staff_id": o.staff_id,
                "placed_at": o.placed_at,
                "status": _REFUNDED if full else _PAID,
                "gross_amount": o.gross,
                "discount_amount": o.discount,
                "net_paid": o.gross - o.discount,
                "cost_amount": o.cost,
                "refunded_amount": o.refund_amount,
                "refunded_cost": o.refund_cost,
                "source": o.source,
                "created_at": o.placed_at,
                "created_by_id": o.staff_id,
            }
        )
        records = []
        for index, (p, qty) in enumerate(o.lines):
            product = world.products[p]
            refunded = qty if full else (1 if o.refund_line == index else 0)
            line_id = self.lines.add(
                {
                    "order_id": order_id,
                    "product_id": product.pk,
                    "category_id": world.product_cat_ids[p],
                    "name": product.name,
                    "quantity": qty,
                    "unit_price": product.price,
                    "unit_cost": product.cost,
                    "refunded_quantity": refunded,
                }
            )
            if refunded:
                records.append({"line_id": line_id, "quantity": refunded})
        if o.refund:
            self.refunds.add(
                {
                    "organisation_id": self.org_id,
                    "order_id": order_id,
                    "amount": o.refund_amount,
                    "cost": o.refund_cost,
                    "lines": records,
                    "reason": "顾客过敏" if full else "部分退款",
                    "created_at": o.refund_at,
                    "created_by_id": o.staff_id,
                }
            )

    def finish(self) -> None:
        """Move the id sequences past the ids chosen here (PostgreSQL; SQLite tracks them itself)."""
        statements = connection.ops.sequence_reset_sql(no_style(), [t.model for t in self.tables])
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _join_days(rng: random.Random, count: int) -> list[int]:
    """First-contact days: a third are regulars from before the window, the rest join over time."""
    days = []
    for _i in range(count):
        if rng.random() < EXISTING_SHARE:
            days.append(rng.randrange(45))
        else:
            days.append(min(WINDOW_DAYS - 1, int(WINDOW_DAYS * rng.random() ** 1.15)))
    return sorted(days)


def generate_demo(
    *,
    customers: int = 3000,
    seed: int = 42,
    as_of: date | None = None,
    progress: ProgressFn | None = None,
) -> DemoSummary:
    """Fill an empty database with the demo salon: staff, catalogue, customers, orders, stats."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if Organisation.objects.exists():
        raise ValueError(
            "The demo data needs an empty database, but an organisation already exists."
        )
    started = timer.perf_counter()
    tz = ZoneInfo(TIME_ZONE)
    now = timezone.now()
    as_of = as_of or now.astimezone(tz).date()
    end = min(datetime.combine(as_of, time(23, 59, 59), tz), now)
    rng = random.Random(seed)
    report = progress or (lambda stage, done, total: None)

    with transaction.atomic():
        report("setup", 0, 1)
        organisation, stores, staff_by_store, logins, categories, products, tags = _setup(rng)
        report("setup", 1, 1)
        world = _World(rng, as_of, end, stores, staff_by_store, categories, products, tags)
        summary = DemoSummary(
            organisation_id=organisation.pk, as_of=as_of, stats_time=end, logins=logins
        )
        join_days = _join_days(rng, customers)
        writer = _Writer(world, organisation, now)
        for first in range(0, customers, CHUNK):
            plans = [
                world.customer(k, join_days[k], rng.random() < POTENTIAL_SHARE, earlier=k)
                for k in range(first, min(first + CHUNK, customers))
            ]
            writer.write(plans)
            report("customers", writer.customers.count, customers)
        writer.finish()
        summary.customers = writer.customers.count
        summary.potential_customers = writer.potential
        summary.orders = writer.orders.count
        summary.order_lines = writer.lines.count
        summary.refunds = writer.refunds.count
        summary.interactions = writer.interactions.count
        summary.family_members = writer.family.count
        report("stats", 0, 1)
        rebuild_stats(organisation, now=end)
        report("stats", 1, 1)
    summary.seconds = timer.perf_counter() - started
    return summary
