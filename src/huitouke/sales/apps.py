from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "huitouke.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # A merged customer's orders and stats move inside the merge (hooks.py).
        from huitouke.customers import events as customers
        from huitouke.sales import hooks

        customers.customers_merged.connect(hooks.on_customers_merged)
