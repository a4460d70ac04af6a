"""Row locks for one customer's records, always taken in one order.

Every transaction that locks more than one of these rows takes them in this order, each
model's rows by ascending primary key: the customer (messages' frequency cap, merges), her
stats row (orders and refunds: the per-customer serialisation of sales), her loyalty account
(ledger writes). Two transactions that take locks in one order cannot deadlock each other.

On PostgreSQL these are `SELECT … FOR UPDATE`; on SQLite the IMMEDIATE transaction already
serialises writers and `select_for_update` is a no-op. The models are looked up by label so
this bottom-layer module imports no app.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps

# The order of the docstring: a lock on a later model is never held while an earlier one is taken.
ORDER = ("customers.Customer", "customers.CustomerStats", "loyalty.LoyaltyAccount")


def lock_customers(customer_ids: Iterable[int]) -> None:
    """Lock these customers' rows, in primary-key order."""
    customer = apps.get_model("customers", "Customer")
    ids = sorted(set(customer_ids))
    list(customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def lock_customer(customer_id: int) -> None:
    """Lock one customer's row until the transaction ends."""
    lock_customers([customer_id])


def lock_customer_stats(customer_id: int, organisation_id: int | None = None) -> None:
    """Lock her stats row (created empty if missing): concurrent orders for her queue here."""
    customer = apps.get_model("customers", "Customer")
    stats = apps.get_model("customers", "CustomerStats")
    # The row nearly always exists: lock it in one statement, create it only when it is missing.
    if list(stats.objects.select_for_update().filter(customer_id=customer_id).values_list("pk")):
        return
    if organisation_id is None:
        organisation_id = customer.objects.values_list("organisation_id", flat=True).get(
            pk=customer_id
        )
    stats.objects.get_or_create(
        customer_id=customer_id, defaults={"organisation_id": organisation_id}
    )
    list(stats.objects.select_for_update().filter(customer_id=customer_id).values_list("pk"))


def lock_loyalty_account(customer_id: int, organisation_id: int) -> Any:
    """Her loyalty account (created empty if missing), locked: read it, then write it."""
    account = apps.get_model("loyalty", "LoyaltyAccount")
    found = account.objects.select_for_update().filter(customer_id=customer_id).first()
    if found is not None:
        return found
    account.objects.get_or_create(
        customer_id=customer_id, defaults={"organisation_id": organisation_id}
    )
    return account.objects.select_for_update().get(customer_id=customer_id)
