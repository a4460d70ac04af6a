from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "huitouke.loyalty"
    label = "loyalty"
    verbose_name = _("Membership and loyalty")

    def ready(self) -> None:
        # Points, tiers and coupons follow every order, refund and merge inside its transaction,
        # and tiers follow imported order history (after the import's commit).
        from huitouke.customers import events as customers
        from huitouke.loyalty import hooks
        from huitouke.sales import events as sales

        sales.order_paid.connect(hooks.on_order_paid)
        sales.order_refunded.connect(hooks.on_order_refunded)
        sales.orders_imported.connect(hooks.on_orders_imported)
        customers.customers_merged.connect(hooks.on_customers_merged)
