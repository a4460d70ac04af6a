from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "huitouke.wecom"
    label = "wecom"
    verbose_name = _("WeCom")

    def ready(self) -> None:
        # A handover and a merge move the customers' WeChat too; corp tags set in Huitouke are
        # marked in WeCom (after commit). See hooks.py.
        from django.db.models.signals import m2m_changed

        from huitouke.customers import events as customers
        from huitouke.customers.models import Customer
        from huitouke.wecom import hooks

        customers.customers_merged.connect(hooks.on_customers_merged)
        customers.customers_handed_over.connect(hooks.on_customers_handed_over)
        m2m_changed.connect(hooks.on_tags_changed, sender=Customer.tags.through)
        customers.customers_changed.connect(hooks.on_customers_changed)
        # 群发 is a messaging channel that this app sends (messaging/senders.py).
        from huitouke.messaging.models import Channel
        from huitouke.messaging.senders import Sender, register
        from huitouke.wecom import channel

        register(
            Channel.WECOM,
            Sender(
                is_set_up=channel.is_set_up,
                recipient_for=channel.recipient_for,
                linked=channel.linked,
                send=channel.send,
            ),
        )
