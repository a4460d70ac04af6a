from django.contrib import admin

from huitouke.accounts.admin import OrgScopedAdmin
from huitouke.sales.models import Category, Order, Product


@admin.register(Category)
class CategoryAdmin(OrgScopedAdmin):
    list_display = ["name", "cycle_days", "learned_cycle_days"]


@admin.register(Product)
class ProductAdmin(OrgScopedAdmin):
    list_display = ["name", "sku", "category", "price", "cost", "is_active"]
    search_fields = ["name", "sku"]


@admin.register(Order)
class OrderAdmin(OrgScopedAdmin):
    list_display = ["id", "placed_at", "customer", "store", "net_paid", "status"]
    list_filter = ["status", "store"]
    raw_id_fields = ["customer"]

    # Orders change only through actions (stats, audit); the admin shows them read-only.
    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
