from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "huitouke.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from huitouke.customers import hooks
        from huitouke.customers.models import Customer

        post_save.connect(hooks.send_customer_created, sender=Customer)
