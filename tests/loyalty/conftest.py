"""Loyalty fixtures, and the check that runs after every loyalty test: the books balance.

For every loyalty account, the balance equals the sum of its ledger's points and the points owed
equal the sum of its ledger's debt, neither is negative, and each entry's `balance_after` is the
running sum of the entries before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from huitouke.customers.models import Customer
from huitouke.loyalty.models import LoyaltyAccount, PointsEntry


def assert_books_balance() -> None:
    """Balance = ledger sum ≥ 0 for every account; running balances add up."""
    ledger: dict[int, list[tuple[int, int, int]]] = {}
    for customer_id, points, debt, after in PointsEntry.objects.order_by("id").values_list(
        "customer_id", "points", "debt", "balance_after"
    ):
        ledger.setdefault(customer_id, []).append((points, debt, after))
    accounts = {a.pk: a for a in LoyaltyAccount.objects.all()}
    assert set(ledger) <= set(accounts), "ledger rows without an account"
    merged = set(
        Customer.objects.filter(merged_into__isnull=False).values_list("merged_into_id", flat=True)
    )
    for customer_id, account in accounts.items():
        rows = ledger.get(customer_id, [])
        assert account.balance == sum(p for p, _d, _a in rows) >= 0, (
            f"customer {customer_id}: balance ≠ ledger sum"
        )
        assert account.debt == sum(d for _p, d, _a in rows) >= 0, (
            f"customer {customer_id}: debt ≠ ledger sum"
        )
        assert not (account.debt and account.balance), "points held while points are owed"
        if customer_id not in merged:  # a merge interleaves two histories
            running = 0
            for points, _debt, after in rows:
                running += points
                assert after == running, (
                    f"customer {customer_id}: balance_after {after} ≠ running sum {running}"
                )


@pytest.fixture(autouse=True)
def books_balance(db: Any) -> Iterator[None]:
    # English messages, whatever the compiled catalogues hold, so assertions can quote them.
    with translation.override("en"):
        yield
        assert_books_balance()
