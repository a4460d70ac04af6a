"""Follow-ups' background jobs: the SOP engine every 10 minutes, and order SOPs right after a sale.

Both are idempotent (the engine creates each task once per occurrence), so a job run twice, or
on two workers at once, or the periodic sweep catching an order the hook already handled, adds
nothing.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.followups import sop
from huitouke.sales.models import Order


@db_periodic_task(crontab(minute="*/10"))
def run_sop_rules() -> int:
    """Evaluate every organisation's SOP rules (every 10 minutes)."""
    return sop.run_all()


@db_task()
def run_order_sop_rules(order_id: int) -> int:
    """Evaluate the order-paid SOPs of one order."""
    order = Order.objects.select_related("organisation").filter(pk=order_id).first()
    return sop.run_order_sops(order) if order else 0
