from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "huitouke.followups"
    label = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # Open tasks follow their customers on every owner change and merge (inside those
        # transactions);
        # a paid order enqueues its SOPs after commit.
        from huitouke.customers import events as customers
        from huitouke.followups import hooks
        from huitouke.sales import events as sales

        customers.owners_changed.connect(hooks.on_owners_changed)
        customers.handover_previewed.connect(hooks.on_handover_previewed)
        customers.customers_merged.connect(hooks.on_customers_merged)
        sales.order_paid.connect(hooks.on_order_paid)
