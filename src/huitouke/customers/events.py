"""What customers tells the other apps: a customer created, owners changed, handed over, merged.

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

# sender=Customer, moves=<[(customer id, old owner's id or None)]>, new_owner=<User or None>.
# Sent by do_change_owner (every owner change: the edit form, the API, handover, merge) inside
# its transaction, after the owners and ownership history are written. A receiver returns how
# many open tasks it moved (for the audit entry).
owners_changed = Signal()

# sender=Customer, customer_ids=<list of ints>, from_staff=<User>. Sent by handover_preview
# before a handover is confirmed; a receiver returns how many open tasks would move with them.
handover_previewed = Signal()

# sender=Customer, keep=<Customer>, duplicate=<Customer>. Sent by do_merge_customers inside its
# transaction, after orders, interactions, family and tags have moved and before the duplicate
# is marked merged: receivers move what their app keeps for the duplicate.
customers_merged = Signal()

# sender=Customer, changes=<customers.changes.CustomerChanges>. Sent by
# customers.changes.customers_changed inside the write's transaction, for customers written
# around Model.save (an import's bulk insert and update, a handover, the member page's consent,
# an opt-out); a single save is seen by post_save instead. Receivers: integrations (webhooks).
customers_changed = Signal()

# sender=Customer, answers=<[(customer id, organisation id, channel "sms"/"email"/"wechat",
# granted)]>, source=<"form" / "api" / "import">, actor=<User or None>, at=<datetime>. Sent when
# staff record a marketing-consent answer she gave (or withdrew), inside the write's transaction;
# members keeps each as a ConsentEvent. Nothing is sent for a consent nobody answered.
consent_answered = Signal()

# sender=Customer, customer=<Customer> (anonymised), removed=<{model name: [ids]}> (the rows
# deleted, e.g. {"Message": [4, 9]}). Sent by customers.privacy.do_erase_customer inside the
# erasure's transaction, after her rows are removed and her fields anonymised. Receivers:
# integrations (tombstones for the removed messages and her kept orders and coupons).
customer_erased = Signal()
