from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "huitouke.followups"
    label = "followups"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        # Open tasks follow their customers on every owner change and merge (inside those transactions);
        # a paid order enqueues its SOPs after commit.
        from huitouke.customers.actions import MERGE_HOOKS, OPEN_TASK_COUNTERS, OWNER_CHANGE_HOOKS
        from huitouke.followups import actions, tasks
        from huitouke.sales.actions import ORDER_PAID_HOOKS

        if actions.on_owner_changed not in OWNER_CHANGE_HOOKS:
            OWNER_CHANGE_HOOKS.append(actions.on_owner_changed)
        if actions.open_tasks_moving not in OPEN_TASK_COUNTERS:
            OPEN_TASK_COUNTERS.append(actions.open_tasks_moving)
        if actions.on_customers_merged not in MERGE_HOOKS:
            MERGE_HOOKS.append(actions.on_customers_merged)
        if tasks.on_order_paid not in ORDER_PAID_HOOKS:
            ORDER_PAID_HOOKS.append(tasks.on_order_paid)
