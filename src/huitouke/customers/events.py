"""What customers tells the other apps: a customer created, customers handed over or merged.

Declared here, sent by customers.actions (customer_created by the relay in customers.hooks),
received in the receiving app's hooks.py and connected in its AppConfig.ready().
docs/architecture.md has the table of senders and receivers.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Customer, customer=<Customer>. Sent inside the save that created her (every creation
# that goes through Model.save; not fixtures, and not the bulk inserts of imports and syncs).
customer_created = Signal()

# sender=Customer, customer_ids=<list of ints>, from_staff=<User>,
# assignments=<{new owner's id: [customer ids]}>. Sent by do_handover_customers inside its
# transaction, after the owners and ownership changes are written.
customers_handed_over = Signal()

# sender=Customer, keep=<Customer>, duplicate=<Customer>. Sent by do_merge_customers inside its
# transaction, after orders, interactions, family and tags have moved and before the duplicate
# is marked merged: receivers move what their app keeps for the duplicate.
customers_merged = Signal()
