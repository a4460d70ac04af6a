from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "huitouke.followups"
    label = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # Open tasks follow their customers on handover and merge (inside those transactions);
        # a paid order enqueues its SOPs after commit.
        from huitouke.customers.actions import HANDOVER_HOOKS, MERGE_HOOKS
        from huitouke.followups import actions, tasks
        from huitouke.sales.actions import ORDER_PAID_HOOKS

        if actions.on_customers_handed_over not in HANDOVER_HOOKS:
            HANDOVER_HOOKS.append(actions.on_customers_handed_over)
        if actions.on_customers_merged not in MERGE_HOOKS:
            MERGE_HOOKS.append(actions.on_customers_merged)
        if tasks.on_order_paid not in ORDER_PAID_HOOKS:
            ORDER_PAID_HOOKS.append(tasks.on_order_paid)
