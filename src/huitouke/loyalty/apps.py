from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "huitouke.loyalty"
    label = "loyalty"
    verbose_name = _("Membership and loyalty")

    def ready(self) -> None:
        # Points, tiers and coupons follow every order, refund and merge inside its transaction,
        # and tiers follow imported order history.
        from huitouke.customers.actions import MERGE_HOOKS
        from huitouke.imports.engine import IMPORT_DONE_HOOKS
        from huitouke.loyalty import hooks
        from huitouke.sales.actions import ORDER_PAID_HOOKS, ORDER_REFUNDED_HOOKS

        if hooks.on_order_paid not in ORDER_PAID_HOOKS:
            ORDER_PAID_HOOKS.append(hooks.on_order_paid)
        if hooks.on_order_refunded not in ORDER_REFUNDED_HOOKS:
            ORDER_REFUNDED_HOOKS.append(hooks.on_order_refunded)
        if hooks.on_import_done not in IMPORT_DONE_HOOKS:
            IMPORT_DONE_HOOKS.append(hooks.on_import_done)
        if hooks.on_customers_merged not in MERGE_HOOKS:
            MERGE_HOOKS.append(hooks.on_customers_merged)
