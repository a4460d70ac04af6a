from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "huitouke.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from huitouke.customers.actions import MERGE_HOOKS
        from huitouke.integrations import events, tombstones

        if tombstones.on_customers_merged not in MERGE_HOOKS:
            MERGE_HOOKS.append(tombstones.on_customers_merged)
        events.connect()
