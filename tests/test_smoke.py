from decimal import Decimal

from tests.helpers import make_customer, make_order


def test_order_updates_stats(owner, store1, org):
    customer = make_customer(org, actor=owner)
    make_order(customer, store1, unit_price="120.00", quantity=2, actor=owner)
    customer.stats.refresh_from_db()
    assert customer.stats.orders_count == 1
    assert customer.stats.net_spend == Decimal("240.00")
