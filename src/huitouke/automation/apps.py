from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _customer_saved(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    # Fixtures (raw) and edits are not "customer created" events.
    if created and not raw:
        from huitouke.automation.engine import on_customer_created

        on_customer_created(instance)


class AutomationConfig(AppConfig):
    name = "huitouke.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Event triggers enrol inside the event's own transaction (see engine.py): an order that
        # commits has its enrolments, one that rolls back has none.
        from django.db.models.signals import post_save

        from huitouke.automation import engine
        from huitouke.customers.models import Customer
        from huitouke.loyalty.actions import TIER_CHANGED_HOOKS
        from huitouke.sales.actions import ORDER_PAID_HOOKS, ORDER_REFUNDED_HOOKS

        if engine.on_order_paid not in ORDER_PAID_HOOKS:
            ORDER_PAID_HOOKS.append(engine.on_order_paid)
        if engine.on_order_refunded not in ORDER_REFUNDED_HOOKS:
            ORDER_REFUNDED_HOOKS.append(engine.on_order_refunded)
        if engine.on_tier_changed not in TIER_CHANGED_HOOKS:
            TIER_CHANGED_HOOKS.append(engine.on_tier_changed)
        post_save.connect(
            _customer_saved, sender=Customer, dispatch_uid="automation_customer_created"
        )
