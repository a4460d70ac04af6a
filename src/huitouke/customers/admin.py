from django.contrib import admin

from huitouke.accounts.admin import OrgScopedAdmin
from huitouke.customers.models import Customer, CustomField, Interaction, Tag


@admin.register(Customer)
class CustomerAdmin(OrgScopedAdmin):
    list_display = ["name", "phone", "owner", "home_store", "created_at"]
    search_fields = ["name", "phone", "wechat_id"]
    raw_id_fields = ["referrer", "merged_into", "owner", "created_by"]
    list_select_related = ["owner", "home_store"]


@admin.register(Tag)
class TagAdmin(OrgScopedAdmin):
    list_display = ["name"]


@admin.register(CustomField)
class CustomFieldAdmin(OrgScopedAdmin):
    list_display = ["label", "key", "type", "group", "position"]


@admin.register(Interaction)
class InteractionAdmin(OrgScopedAdmin):
    list_display = ["customer", "kind", "staff", "occurred_at"]
    raw_id_fields = ["customer"]
