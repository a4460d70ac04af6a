"""Random sequences of orders (with points), refunds, redemptions, adjustments and expiry, checked step by
step against a plain Python model of the ledger: balance and debt, expired points and the tier.

The model holds lots (points credited, with their expiry) and applies the documented rules
directly: credits pay off debt first; a refund returns used points and takes back earned points
in proportion (cumulatively rounded), from the order's own lot, recording a debt for what the
balance cannot cover; the points held are always the latest-expiring ones.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tests.helpers import make_customer

from huitouke.loyalty.actions import (
    do_adjust_points,
    do_redeem_points,
    ensure_program,
    expire_points_of,
)
from huitouke.loyalty.checkout import do_checkout
from huitouke.loyalty.models import ExpiryPolicy, LoyaltyAccount
from huitouke.loyalty.queries import ledger_totals
from huitouke.sales.actions import LineInput, do_refund_order
from huitouke.sales.models import Order

CENT = Decimal("0.01")
MONTHS = 2
# The default tiers, written out by hand: (12-month spend from, price rate, points multiplier).
TIERS = [
    (Decimal(0), Decimal(1), Decimal(1)),
    (Decimal(300), Decimal("0.95"), Decimal("1.2")),
    (Decimal(1000), Decimal("0.88"), Decimal("1.5")),
    (Decimal(5000), Decimal("0.85"), Decimal(2)),
]


def months_later(when: datetime, months: int) -> datetime:
    year, month = divmod(when.month - 1 + months, 12)
    year, month = when.year + year, month + 1
    return when.replace(
        year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1])
    )


def half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass
class ModelOrder:
    pk: int
    placed_at: datetime
    net: Decimal
    earned: int
    used: int
    lot: list | None
    refunded: Decimal = Decimal(0)
    taken: int = 0
    returned: int = 0


@dataclass
class Ledger:
    balance: int = 0
    debt: int = 0
    lots: list[list] = field(default_factory=list)  # [expires or None, net points]

    def credit(self, points: int, expires: datetime | None) -> list | None:
        paid_off = min(points, self.debt)
        self.debt -= paid_off
        self.balance += points - paid_off
        # A lot even when empty: a later refund reversal still counts against it.
        lot = [expires, points - paid_off]
        self.lots.append(lot)
        return lot

    def debit(self, points: int) -> bool:
        if points > self.balance:
            return False
        self.balance -= points
        return True

    def take_back(self, due: int, lot: list | None) -> None:
        taken = min(due, self.balance)
        self.balance -= taken
        self.debt += due - taken
        if lot is not None:
            lot[1] -= taken

    def expire(self, now: datetime) -> int:
        # Held points are the latest-expiring ones: what lots still valid at `now` can hold stays.
        still_valid = sum(n for expires, n in self.lots if expires is None or expires > now)
        lapsed = max(0, self.balance - still_valid)
        self.balance -= lapsed
        return lapsed


class LoyaltyMachine(RuleBasedStateMachine):
    org = None
    store = None

    @initialize()
    def start(self) -> None:
        self.customer = make_customer(self.org)
        self.ledger = Ledger()
        self.orders: list[ModelOrder] = []
        self.real_now = timezone.now()
        # Whole days from half a day past a day boundary: never within seconds of the 12-month edge.
        self.clock = self.real_now - timedelta(days=400, hours=-12)
        self.tier = TIERS[0]

    def advance(self, days: int) -> datetime:
        self.clock = min(self.clock + timedelta(days=days), self.real_now - timedelta(hours=1))
        return self.clock

    def tier_now(self) -> tuple[Decimal, Decimal, Decimal]:
        window = timezone.now() - timedelta(days=365)
        spend = sum(
            (
                o.net - o.refunded
                for o in self.orders
                if o.placed_at > window and o.refunded < o.net
            ),
            Decimal(0),
        )
        return max((t for t in TIERS if t[0] <= spend), key=lambda t: t[0])

    @rule(amount=st.integers(1, 700), days=st.integers(0, 45), wanted=st.integers(0, 40_000))
    def buy(self, amount: int, days: int, wanted: int) -> None:
        placed_at = self.advance(days)
        gross = Decimal(amount)
        _threshold, rate, multiplier = self.tier
        after = gross - (gross * (1 - rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        most = int(
            ((after * 50 / 100).quantize(CENT, rounding=ROUND_DOWN) * 100).to_integral_value(
                rounding=ROUND_FLOOR
            )
        )
        points = min(wanted, most, self.ledger.balance)
        net = after - Decimal(points) / 100
        order = do_checkout(
            organisation=self.org,
            store=self.store,
            customer=self.customer,
            actor=None,
            placed_at=placed_at,
            points=points,
            lines=[LineInput(quantity=1, name="item", unit_price=gross)],
        )
        assert order.net_paid == net
        earned = int((net * multiplier).to_integral_value(rounding=ROUND_FLOOR))
        lot = (
            self.ledger.credit(earned, months_later(timezone.localtime(placed_at), MONTHS))
            if earned
            else None
        )
        assert self.ledger.debit(points)
        self.orders.append(ModelOrder(order.pk, placed_at, net, earned, points, lot))
        self.tier = self.tier_now()

    @precondition(lambda self: any(o.refunded < o.net for o in self.orders))
    @rule(pick=st.integers(0, 10_000), percent=st.integers(1, 100))
    def refund(self, pick: int, percent: int) -> None:
        open_orders = [o for o in self.orders if o.refunded < o.net]
        o = open_orders[pick % len(open_orders)]
        left = o.net - o.refunded
        amount = max(CENT, (left * percent / 100).quantize(CENT, rounding=ROUND_DOWN))
        do_refund_order(order=Order.objects.get(pk=o.pk), actor=None, amount=amount)
        o.refunded += amount
        full = o.refunded == o.net
        back = (o.used if full else half_up(o.used * o.refunded / o.net)) - o.returned
        taken = (o.earned if full else half_up(o.earned * o.refunded / o.net)) - o.taken
        if back > 0:
            self.ledger.credit(back, months_later(timezone.localtime(), MONTHS))
            o.returned += back
        if taken > 0:
            self.ledger.take_back(taken, o.lot)
            o.taken += taken
        self.tier = self.tier_now()

    @rule(points=st.integers(1, 600))
    def redeem(self, points: int) -> None:
        expected = self.ledger.debit(points)
        try:
            do_redeem_points(self.customer, points=points, actor=None)
        except ValidationError:
            assert not expected
        else:
            assert expected

    @rule(points=st.integers(-300, 300).filter(bool))
    def adjust(self, points: int) -> None:
        if points > 0:
            self.ledger.credit(points, months_later(timezone.localtime(), MONTHS))
            expected = True
        else:
            expected = self.ledger.debit(-points)
        try:
            do_adjust_points(self.customer, points=points, reason="model", actor=None)
        except ValidationError:
            assert not expected
        else:
            assert expected

    @rule(days=st.integers(0, 90))
    def expire(self, days: int) -> None:
        now = self.advance(days)
        entry = expire_points_of(self.customer.pk, self.customer.organisation_id, now=now)
        assert (-entry.points if entry else 0) == self.ledger.expire(now)

    @invariant()
    def books_agree_with_the_model(self) -> None:
        if not hasattr(self, "customer"):
            return
        account = LoyaltyAccount.objects.select_related("tier").filter(pk=self.customer.pk).first()
        balance, debt = (account.balance, account.debt) if account else (0, 0)
        assert (balance, debt) == (self.ledger.balance, self.ledger.debt)
        assert ledger_totals(self.customer.pk) == {"points": balance, "debt": debt}
        assert balance >= 0 and debt >= 0
        if self.orders:
            assert account is not None and account.tier is not None
            assert account.tier.threshold == self.tier[0]


def test_random_sequences_keep_the_books_and_the_tier_right(org, store1):
    rules = ensure_program(org)
    rules.expiry_policy, rules.expiry_months = ExpiryPolicy.MONTHS, MONTHS
    rules.save()
    LoyaltyMachine.org, LoyaltyMachine.store = org, store1
    run_state_machine_as_test(
        LoyaltyMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
