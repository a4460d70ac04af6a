from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "huitouke.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Event triggers enrol inside the event's own transaction (see hooks.py).
        from huitouke.automation import hooks
        from huitouke.customers import events as customers
        from huitouke.loyalty import events as loyalty
        from huitouke.sales import events as sales

        sales.order_paid.connect(hooks.on_order_paid)
        sales.order_refunded.connect(hooks.on_order_refunded)
        loyalty.tier_changed.connect(hooks.on_tier_changed)
        customers.customer_created.connect(hooks.on_customer_created)
