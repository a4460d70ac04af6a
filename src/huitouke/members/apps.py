from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class MembersConfig(AppConfig):
    name = "huitouke.members"
    label = "members"
    verbose_name = _("Member centre")

    def ready(self) -> None:
        # Consent answers staff record (form, API, import) are kept with hers (members.ConsentEvent).
        from huitouke.customers import events as customers
        from huitouke.members import hooks

        customers.consent_answered.connect(hooks.on_consent_answered)


# The automation trigger this app fires is labelled in automation.models; its translation lives
# in this app's catalogue so the shared catalogues stay untouched.
gettext_noop("Customer joined as a member (QR code)")
