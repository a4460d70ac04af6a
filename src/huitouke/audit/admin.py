from django.contrib import admin

from huitouke.accounts.admin import OrgScopedAdmin
from huitouke.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(OrgScopedAdmin):
    list_display = ["at", "actor", "action", "object_repr", "ip"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
