"""Plain `make_*` helpers for tests (no factory library)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connections
from django.utils import translation

from huitouke.accounts.models import Organisation, Store, User
from huitouke.customers.actions import do_create_customer
from huitouke.customers.models import Customer
from huitouke.sales.actions import LineInput, do_record_order
from huitouke.sales.models import Category, Order, Product

PASSWORD = "correct-horse-battery-9"


def make_user(
    username: str,
    organisation: Organisation | None,
    role: str,
    store: Store | None = None,
    **extra: Any,
) -> User:
    user = User(
        username=username,
        organisation=organisation,
        role=role,
        store=store,
        display_name=extra.pop("display_name", username),
        **extra,
    )
    user.set_password(PASSWORD)
    user.save()
    return user


_phone_seq = iter(range(10_000_000))


def next_phone() -> str:
    return f"139{next(_phone_seq):08d}"


def make_customer(organisation: Organisation, *, actor: Any = None, **overrides: Any) -> Customer:
    # A customer who said yes to marketing (a new customer's consent is unknown, i.e. no, until
    # she answers; tests of messaging want someone who may be written to).
    fields: dict[str, Any] = {
        "name": "陈静",
        "phone": next_phone(),
        "consent_sms": True,
        "consent_email": True,
        "consent_wechat": True,
    }
    fields.update(overrides)
    return do_create_customer(organisation=organisation, actor=actor, **fields)


def make_product(
    organisation: Organisation,
    *,
    name: str = "玻尿酸精华",
    price: str = "100.00",
    cost: str = "40.00",
    category: Category | None = None,
    **extra: Any,
) -> Product:
    return Product.objects.create(
        organisation=organisation,
        name=name,
        price=Decimal(price),
        cost=Decimal(cost),
        category=category,
        **extra,
    )


def make_order(
    customer: Customer | None,
    store: Store,
    *,
    product: Product | None = None,
    quantity: int = 1,
    unit_price: str | None = None,
    placed_at: datetime | None = None,
    actor: Any = None,
    **extra: Any,
) -> Order:
    organisation = store.organisation
    if product is None:
        product = make_product(organisation)
    return do_record_order(
        organisation=organisation,
        store=store,
        customer=customer,
        lines=[
            LineInput(
                quantity=quantity,
                product=product,
                unit_price=Decimal(unit_price) if unit_price else None,
            )
        ],
        actor=actor,
        placed_at=placed_at,
        **extra,
    )


def run_in_threads(
    n: int, target: Callable[[int], Any], *, language: str | None = None
) -> tuple[list[Any], list[BaseException]]:
    """Start n threads at one barrier, each calling target(i) on its own connections.

    Returns (results, errors); an error is collected, never lost in its thread. `language`
    overrides the active language in each thread (it is per thread).
    """
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            if language:
                with translation.override(language):
                    value = target(i)
            else:
                value = target(i)
            with lock:
                results.append(value)
        except BaseException as exc:  # collected and checked by the test
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors
