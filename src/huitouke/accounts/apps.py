from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "huitouke.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from huitouke.accounts import language, signals  # noqa: F401
