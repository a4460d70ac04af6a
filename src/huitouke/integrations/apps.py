from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "huitouke.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        # Webhook events and feed tombstones, queued inside the writes' transactions (hooks.py).
        from django.db.models.signals import post_save, pre_save

        from huitouke.audit.models import AuditEntry
        from huitouke.customers import events as customers
        from huitouke.customers.models import Customer
        from huitouke.followups import events as followups
        from huitouke.integrations import hooks
        from huitouke.loyalty import events as loyalty
        from huitouke.loyalty.models import PointsEntry
        from huitouke.sales import events as sales

        sales.order_paid.connect(hooks.on_order_paid)
        sales.order_refunded.connect(hooks.on_order_refunded)
        customers.customers_merged.connect(hooks.on_customers_merged)
        customers.customer_erased.connect(hooks.on_customer_erased)
        sales.orders_merged.connect(hooks.on_orders_merged)
        customers.customers_changed.connect(hooks.on_customers_changed)
        loyalty.coupon_redeemed.connect(hooks.on_coupon_redeemed)
        followups.task_completed.connect(hooks.on_task_completed)
        pre_save.connect(hooks.on_customer_saving, sender=Customer)
        post_save.connect(hooks.on_customer_saved, sender=Customer)
        post_save.connect(hooks.on_points_entry_saved, sender=PointsEntry)
        post_save.connect(hooks.on_audit_entry_saved, sender=AuditEntry)
