"""Rows written with plain INSERTs read back exactly as rows the ORM saved."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from huitouke.core.bulk import FastTable, local_datetime_adapter
from huitouke.sales.models import Order

pytestmark = pytest.mark.django_db

# updated_at is auto_now: the ORM stamps its own save time; the bulk path the import's `now`
# (checked on its own below).
COMPARED = [
    f.attname
    for f in Order._meta.concrete_fields
    if f.attname not in ("id", "external_id", "updated_at")
]


def test_tuples_of_some_fields_store_what_the_orm_stores(org, store1):
    now = timezone.now()
    when = datetime(2024, 3, 5, 14, 3, tzinfo=ZoneInfo("Asia/Shanghai"))
    table = FastTable(Order, now)
    names = ("external_id", "placed_at", "organisation_id", "store_id", "net_paid", "created_at")
    assert table.insert_tuples(names, [("A1", when, org.pk, store1.pk, Decimal("12.30"), now)]) == 1
    by_orm = Order.objects.create(
        organisation=org,
        store=store1,
        placed_at=when,
        net_paid=Decimal("12.30"),
        external_id="A2",
        created_at=now,
    )
    by_orm.refresh_from_db()
    fast = Order.objects.get(external_id="A1")
    assert {f: getattr(fast, f) for f in COMPARED} == {f: getattr(by_orm, f) for f in COMPARED}
    assert fast.placed_at == when and fast.coupon_amount == Decimal("0.00")
    assert fast.updated_at == now


def test_an_unknown_field_is_refused(org):
    with pytest.raises(ValueError, match="no fields"):
        FastTable(Order, timezone.now()).insert_tuples(("organisation_id", "colour"), [])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
def test_a_files_local_time_is_stored_as_the_orm_stores_the_aware_time(db, zone):
    tz = ZoneInfo(zone)
    adapt = local_datetime_adapter(tz)
    generic = {n: c for n, _d, c in FastTable(Order, timezone.now()).columns}["placed_at"]
    # Ordinary times, Shanghai's summer time of 1988, New York's gap and repeated hour, and
    # Lord Howe's half-hour shift; with and without microseconds; and an already aware time.
    times = [
        datetime(2024, 3, 5, 14, 3),
        datetime(1988, 7, 1, 9, 30, 15, 250),
        datetime(2024, 3, 10, 2, 30),
        datetime(2024, 11, 3, 1, 30),
        datetime(2024, 4, 7, 1, 45),
        datetime(2024, 10, 6, 2, 15),
    ]
    assert generic is not None
    for moment in times:
        assert adapt(moment) == generic(moment.replace(tzinfo=tz))
    aware = datetime(2024, 3, 5, 14, 3, tzinfo=ZoneInfo("Europe/Paris"))
    assert adapt(aware) == generic(aware)


def test_new_ids_come_back_in_the_order_of_the_rows(org, store1):
    now = timezone.now()
    for key in ("old1", "old2", "old3"):
        Order.objects.create(organisation=org, store=store1, external_id=key)
    Order.objects.filter(external_id="old3").delete()  # a freed id is never given again
    names = ("organisation_id", "store_id", "external_id")
    rows = [(org.pk, store1.pk, f"new{n}") for n in range(5)]
    ids = FastTable(Order, now).insert_tuples_returning(names, rows)
    assert dict(Order.objects.filter(pk__in=ids).values_list("pk", "external_id")) == {
        pk: f"new{n}" for n, pk in enumerate(ids)
    }
    assert FastTable(Order, now).insert_tuples_returning(names, []) == []
