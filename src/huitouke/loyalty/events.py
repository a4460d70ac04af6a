"""What loyalty tells the other apps: a member's tier changed.

Declared here, sent by loyalty.program.evaluate_tier, received in the receiving app's hooks.py
and connected in its AppConfig.ready(). docs/architecture.md has the table.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=TierChange, change=<TierChange>. Sent inside the transaction that changed the tier (an
# order's, a refund's, or the nightly re-evaluation's); not for tiers moved by imported history
# or by a change of the tiers themselves (reevaluate_tiers_of).
tier_changed = Signal()

# sender=Coupon, coupon=<Coupon>, order=<Order or None>. Sent by loyalty.coupons.redeemed inside
# the transaction that used the coupon: the quick order's (do_checkout, once the order exists)
# and do_redeem_coupon's. Receivers: integrations (coupon.redeemed webhook).
coupon_redeemed = Signal()
