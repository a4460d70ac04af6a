from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "huitouke.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # A merged customer's results go inside the merge (hooks.py).
        from huitouke.analytics import hooks
        from huitouke.customers import events as customers

        customers.customers_merged.connect(hooks.on_customers_merged)
