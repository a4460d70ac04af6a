"""The simulation behind the demo data: who the customers are and when they buy.

Customers are simulated one by one with a single seeded `random.Random`, so a seed always gives
the same data. Each buying customer has one or two favourite categories and comes back when one
of them runs out (the category's repurchase cycle times her own pace, with noise); about 30%
stop buying at some point and some of those come back later. Order days lean towards weekends
and the shopping festivals (春节, 38妇女节, 520, 618, 七夕, 双11), which also bring extra gift
orders. Nothing here touches the database: the plans are written by `huitouke.demo.rows`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lunar_python import Lunar

from huitouke.accounts.models import Store, User
from huitouke.customers.models import Tag
from huitouke.demo import names
from huitouke.demo.draw import cum, pick
from huitouke.demo.people import People
from huitouke.sales.models import Category, OrderSource, Product

TIME_ZONE = "Asia/Shanghai"
WINDOW_DAYS = 730
POTENTIAL_SHARE = 0.10
STOPPER_SHARE = 0.30  # buyers who stop at some point (silent, then churned)
REACTIVATE_SHARE = 0.30  # of the stoppers, those who come back
FULL_REFUND_RATE = 0.012
PARTIAL_REFUND_RATE = 0.012
EXISTING_SHARE = 0.3  # customers who already came before the two years start
VIP_SPEND = Decimal("8000")
# Calibrated so a buying customer places about 11 orders in two years (30,000 for 3,000 customers).
PACE = 1.27

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# (kind, time, note, rating, staff id): one interaction on her timeline.
Contact = tuple[str, datetime, str, int | None, int | None]


@dataclass
class OrderPlan:
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
class CustomerPlan:
    fields: dict[str, Any]
    tags: set[str]
    family: list[dict[str, Any]]
    orders: list[OrderPlan]
    interactions: list[Contact]


@dataclass(frozen=True)
class Festival:
    first: int  # day indices into the window, inclusive
    last: int
    boost: float  # how much more likely an order falls on these days
    extra: float  # chance an active customer places an extra festival order
    categories: tuple[str, ...]


def _money(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class World:
    """The fixed parts of the demo (catalogue, staff, calendar) and the per-customer simulation."""

    WEEKDAY = (0.8, 0.85, 0.9, 0.95, 1.15, 1.5, 1.35)  # Monday .. Sunday
    HOURS = tuple(range(10, 22))
    HOUR_CUM = cum((4, 6, 7, 8, 9, 9, 8, 7, 8, 9, 7, 4))
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
        self.cat_cum = cum([w for _n, _c, w in names.CATEGORIES])
        self.products = products
        self.product_cat = [names.PRODUCTS[i][0] for i in range(len(products))]
        cat_ids = {c.name: c.pk for c in categories}
        self.product_cat_ids = [cat_ids[cat] for cat in self.product_cat]
        self.product_by_cat: dict[str, list[int]] = {}
        for i, cat in enumerate(self.product_cat):
            self.product_by_cat.setdefault(cat, []).append(i)
        # Cheaper items sell more often.
        self.product_cum = {
            cat: cum([1 / math.sqrt(float(products[i].price)) for i in idx])
            for cat, idx in self.product_by_cat.items()
        }
        self.tags = tags
        self.festivals = self._festivals()
        self.day_weight = self._day_weights()
        # Shopping-festival days bring more discounts.
        self.festival_days = [
            any(f.boost > 1 and f.first <= i <= f.last for f in self.festivals)
            for i in range(WINDOW_DAYS)
        ]
        self.people = People(rng)

    # --- calendar ---------------------------------------------------------------------------------

    def _index(self, day: date) -> int:
        return (day - self.start).days

    def _festivals(self) -> list[Festival]:
        out: list[Festival] = []
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
                    out.append(Festival(max(a, 0), min(b, self.last_day), boost, extra, cats))
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
        weights = cum([self.day_weight[d] * self.SHIFT_DECAY[abs(d - day)] for d in days])
        return pick(self.rng, days, weights)

    def at(self, day: int) -> datetime:
        rng = self.rng
        hour = pick(rng, self.HOURS, self.HOUR_CUM)
        moment = datetime.combine(
            self.start + timedelta(days=day),
            time(hour, rng.randrange(60), rng.randrange(60)),
            self.tz,
        )
        return moment

    def later(self, moment: datetime, min_hours: float, max_hours: float) -> datetime | None:
        """A moment a little after `moment`, or None when that is past the end of the window."""
        after = moment + timedelta(hours=self.rng.uniform(min_hours, max_hours))
        return after if after <= self.end else None

    # --- one customer ---------------------------------------------------------------------------------

    def customer(self, k: int, join_day: int, potential: bool, earlier: int) -> CustomerPlan:
        """Simulate customer number `k` (0-based); `earlier` customers exist before her (for referrals)."""
        rng = self.rng
        gender = "f" if rng.random() < 0.92 else ("m" if rng.random() < 0.85 else "")
        store = 0 if rng.random() < 0.6 else 1
        owner: int | None = None
        if rng.random() >= 0.03:
            staff = self.staff_by_store[store]
            # Sales staff look after most customers; the store manager keeps some herself.
            owner = staff[0] if rng.random() < 0.25 else rng.choice(staff[1:] or staff)
        fields, tags, family = self.people.profile(k, gender, earlier)
        fields.update(owner_id=owner, created_by_id=owner, home_store_id=self.stores[store].pk)

        if potential:
            fields["created_at"] = min(self.at(join_day), self.end)
            interactions = self.potential_contacts(fields["created_at"], owner)
            return CustomerPlan(fields, tags, family, [], interactions)

        mains = [pick(rng, self.cat_names, self.cat_cum)]
        if rng.random() < 0.55:
            second = pick(rng, self.cat_names, self.cat_cum)
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
        return CustomerPlan(fields, tags, family, orders, self.order_contacts(orders, owner))

    def orders(
        self, join_day: int, store: int, owner: int | None, mains: list[str]
    ) -> list[OrderPlan]:
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

        plans: list[OrderPlan] = []
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
                    cats.append(pick(rng, self.cat_names, self.cat_cum))
                plan = self.order(day, cats, store, owner)
                if plan is None:
                    break
                used_days.add(day)
                plans.append(plan)
            for fest in self.festivals:
                if fest.extra and first <= fest.first <= last and rng.random() < fest.extra:
                    day = rng.randint(fest.first, fest.last)
                    if day not in used_days:
                        plan = self.order(day, [rng.choice(fest.categories)], store, owner)
                        if plan is not None:
                            used_days.add(day)
                            plans.append(plan)
        plans.sort(key=lambda p: p.placed_at)
        if not plans:
            # Her first visit falls later today than "now": she bought a moment ago instead.
            plans.append(self.basket(self.end, [mains[0]], store, owner))
        return plans

    def order(self, day: int, cats: list[str], store: int, owner: int | None) -> OrderPlan | None:
        """An order on window day `day`, or None when its time would be after the end."""
        placed_at = self.at(day)
        if placed_at > self.end:
            return None
        return self.basket(placed_at, cats, store, owner)

    def basket(
        self, placed_at: datetime, cats: list[str], store: int, owner: int | None
    ) -> OrderPlan:
        """What she buys (one item per category), the discount, the channel and any refund."""
        rng = self.rng
        festival = self.festival_days[(placed_at.date() - self.start).days]
        if rng.random() < 0.08:
            store = 1 - store
        staff = self.staff_by_store[store]
        staff_id = owner if owner in staff else rng.choice(staff)
        lines: dict[int, int] = {}
        for cat in cats:
            product = pick(rng, self.product_by_cat[cat], self.product_cum[cat])
            if cat == "面膜":
                qty = pick(rng, (1, 2, 3), _MASK_QTY_CUM)
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
        source = pick(rng, _ORDER_SOURCES, _ORDER_SOURCE_CUM)
        plan = OrderPlan(
            placed_at, store, staff_id, line_list, gross, cost, _money(discount), source
        )
        r = rng.random()
        if r < FULL_REFUND_RATE + PARTIAL_REFUND_RATE:
            self.refund(plan, full=r < FULL_REFUND_RATE)
        return plan

    def refund(self, plan: OrderPlan, *, full: bool) -> None:
        rng = self.rng
        net = plan.gross - plan.discount
        # An order from the last few days is refunded before "now".
        plan.refund_at = (
            self.later(plan.placed_at, 2, 24 * 10)
            or plan.placed_at + (self.end - plan.placed_at) / 2
        )
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

    def order_contacts(self, orders: list[OrderPlan], owner: int | None) -> list[Contact]:
        """Reviews, follow-up calls and chats after her orders; an after-sale note per refund."""
        rng = self.rng
        out: list[Contact] = []
        for o in orders:
            staff = owner or o.staff_id
            if rng.random() < 0.15 and (at := self.later(o.placed_at, 1, 72)):
                rating = pick(rng, (5, 4, 3, 2, 1), _RATING_CUM)
                reviews = names.INTERACTION_NOTES["review"]
                out.append(
                    (
                        "review",
                        at,
                        rng.choice(reviews[:4] if rating >= 4 else reviews[4:]),
                        rating,
                        None,
                    )
                )
            for kind, chance, min_hours, max_hours in _FOLLOW_UPS:
                if rng.random() < chance and (at := self.later(o.placed_at, min_hours, max_hours)):
                    out.append((kind, at, rng.choice(names.INTERACTION_NOTES[kind]), None, staff))
            if o.refund_at is not None:
                note = rng.choice(names.INTERACTION_NOTES["after_sale"])
                out.append(("after_sale", o.refund_at, note, None, o.staff_id))
        return out

    def potential_contacts(self, first_contact: datetime, owner: int | None) -> list[Contact]:
        """A potential customer (潜客): asked, looked, signed up, but has not bought yet."""
        rng = self.rng
        out: list[Contact] = []
        moment = first_contact
        for _i in range(rng.randint(1, 4)):
            kind = rng.choice(
                ("consultation", "consultation", "visit", "wechat", "favourite", "cart", "event")
            )
            staff = owner if kind in ("consultation", "visit", "wechat") else None
            out.append((kind, moment, rng.choice(names.INTERACTION_NOTES[kind]), None, staff))
            moment = moment + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8))
            if moment > self.end:
                break
        return out


_ORDER_SOURCES = (OrderSource.STORE.value, OrderSource.WECHAT.value, OrderSource.ONLINE.value)
_ORDER_SOURCE_CUM = cum((80, 15, 5))
_MASK_QTY_CUM = cum((60, 30, 10))
_RATING_CUM = cum((60, 25, 10, 4, 1))
# (kind, chance per order, earliest and latest hours after it): the staff member's follow-ups.
_FOLLOW_UPS = (
    ("call", 0.12, 48, 168),
    ("wechat", 0.15, 2, 336),
    ("visit", 0.05, 120, 480),
    ("complaint", 0.008, 1, 48),
)


def join_days(rng: random.Random, count: int) -> list[int]:
    """First-contact days: a third are regulars from before the window, the rest join over time."""
    days = []
    for _i in range(count):
        if rng.random() < EXISTING_SHARE:
            days.append(rng.randrange(45))
        else:
            days.append(min(WINDOW_DAYS - 1, int(WINDOW_DAYS * rng.random() ** 1.15)))
    return sorted(days)
