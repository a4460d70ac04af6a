"""What sales tells the other apps: an order paid, an order refunded, order history imported.

Declared here, sent by sales (and imports), received in the receiving app's hooks.py and
connected in its AppConfig.ready(). docs/architecture.md has the table of senders and receivers.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Order, order=<Order>. Sent by do_record_order inside the order's transaction, after the
# customer's stats row is locked and refreshed: a receiver that raises rolls the sale back, and a
# side effect that leaves the database must wait for the commit (transaction.on_commit).
order_paid = Signal()

# sender=Order, order=<Order> (re-read, with its new status), refund=<Refund>. Sent by
# do_refund_order inside the refund's transaction, after the stats are refreshed.
order_refunded = Signal()

# sender=Order, organisation=<Organisation>, customer_ids=<sorted list of ints>. Sent by the
# importer once an import has committed (send_robust: a receiver's failure is logged and counted,
# never hides the import's outcome). Imported orders send no order_paid.
orders_imported = Signal()

# sender=Order, organisation_id=<int>, merged=<{removed order id: kept order id}>. Sent by
# imports.visits.do_merge_visit_orders inside its transaction, once one-row orders of a visit
# are joined into the visit's first order. Receivers: integrations (order tombstones).
orders_merged = Signal()
