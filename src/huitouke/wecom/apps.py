from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "huitouke.wecom"
    label = "wecom"
    verbose_name = _("WeCom")

    def ready(self) -> None:
        # A handover moves the customers' WeChat too (a transfer recorded inside the handover,
        # WeCom called after commit).
        from huitouke.customers.actions import HANDOVER_HOOKS
        from huitouke.wecom import transfers

        if transfers.on_customers_handed_over not in HANDOVER_HOOKS:
            HANDOVER_HOOKS.append(transfers.on_customers_handed_over)
