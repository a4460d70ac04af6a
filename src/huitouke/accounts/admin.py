"""Django admin for owners: every model list is limited to the owner's organisation."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from huitouke.accounts.models import ApiToken, Organisation, Store, User
from huitouke.audit.models import AuditEntry


class OrgScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; an owner with admin access sees only her organisation."""

    org_path = "organisation"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.org_path: getattr(request.user, "organisation_id", None)})


@admin.register(Organisation)
class OrganisationAdmin(OrgScopedAdmin):
    org_path = "pk"
    list_display = ["name", "industry", "silent_after_days", "churned_after_days"]


@admin.register(Store)
class StoreAdmin(OrgScopedAdmin):
    list_display = ["name", "organisation", "address"]


@admin.register(User)
class StaffAdmin(UserAdmin, OrgScopedAdmin):  # type: ignore[misc]
    list_display = ["username", "display_name", "role", "store", "is_active"]
    list_filter = ["role", "store", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Huitouke", {"fields": ("organisation", "store", "role", "display_name", "phone")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(OrgScopedAdmin):
    org_path = "user__organisation"
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]


# The audit app sits below accounts (every app writes entries), so its admin lives here.
@admin.register(AuditEntry)
class AuditEntryAdmin(OrgScopedAdmin):
    list_display = ["at", "actor", "action", "object_repr", "ip"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
