from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WecomConfig(AppConfig):
    name = "huitouke.wecom"
    label = "wecom"
    verbose_name = _("WeCom")
