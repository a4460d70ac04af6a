from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class MembersConfig(AppConfig):
    name = "huitouke.members"
    label = "members"
    verbose_name = _("Member centre")


# The automation trigger this app fires is labelled in automation.models; its translation lives
# in this app's catalogue so the shared catalogues stay untouched.
gettext_noop("Customer joined as a member (QR code)")
