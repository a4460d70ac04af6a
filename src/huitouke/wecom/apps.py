from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "huitouke.wecom"
    label = "wecom"
    verbose_name = _("WeCom")

    def ready(self) -> None:
        # A handover moves the customers' WeChat too (a transfer recorded inside the handover,
        # WeCom called after commit).
        from huitouke.customers.actions import HANDOVER_HOOKS, MERGE_HOOKS
        from huitouke.wecom import transfers
        from huitouke.wecom.sync import on_customers_merged

        if on_customers_merged not in MERGE_HOOKS:
            MERGE_HOOKS.append(on_customers_merged)

        if transfers.on_customers_handed_over not in HANDOVER_HOOKS:
            HANDOVER_HOOKS.append(transfers.on_customers_handed_over)
        # Corp tags set in Huitouke are marked in WeCom (after commit).
        from django.db.models.signals import m2m_changed

        from huitouke.customers.models import Customer
        from huitouke.wecom.tagsync import on_tags_changed

        m2m_changed.connect(
            on_tags_changed, sender=Customer.tags.through, dispatch_uid="wecom_mark_tag"
        )
