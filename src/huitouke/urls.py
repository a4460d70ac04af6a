from django.contrib import admin
from django.urls import include, path

from huitouke.accounts import language
from huitouke.accounts import urls as accounts_urls
from huitouke.analytics import products_page
from huitouke.api import api
from huitouke.customers import account_views
from huitouke.customers import urls as customers_urls
from huitouke.loyalty import quick_order
from huitouke.sales import urls as sales_urls
from huitouke.segments import customer_list
from huitouke.web import customer_page

# The accounts section: its own screens plus the two that write customers' data.
accounts_section = [
    *accounts_urls.urlpatterns,
    path("handover/", account_views.handover, name="handover"),
    path("organisation/", account_views.organisation_settings, name="organisation"),
    path("fields/", account_views.custom_fields, name="fields"),
    path("fields/new/", account_views.custom_field_edit, name="field_create"),
    path("fields/<int:pk>/", account_views.custom_field_edit, name="field_edit"),
    path(
        "fields/<int:pk>/deactivate/",
        account_views.custom_field_deactivate,
        name="field_deactivate",
    ),
    path(
        "fields/<int:pk>/reactivate/",
        account_views.custom_field_reactivate,
        name="field_reactivate",
    ),
]

# The customer section: the list runs the segment compiler, so it lives in segments; the customer
# page combines every app's data, so its view lives in web; then the customer's own screens.
customers_section = [
    path("", customer_list.customer_list, name="list"),
    path("<int:pk>/", customer_page.customer_detail, name="detail"),
    path("<int:pk>/family/", customer_page.add_family_member, name="add_family"),
    *customers_urls.urlpatterns,
]

# The sales section: the quick order checks out with loyalty, so it lives in loyalty; the products
# page shows analytics' learned cycles, so it lives in analytics; then sales' own screens.
sales_section = [
    path("order/new/", quick_order.quick_order, name="quick_order"),
    path("order/lookup/", quick_order.customer_lookup, name="lookup"),
    path("order/customer/", quick_order.quick_customer, name="quick_customer"),
    path("order/products/", quick_order.product_search, name="product_search"),
    path("products/", products_page.product_list, name="products"),
    *sales_urls.urlpatterns,
]

urlpatterns = [
    path("", include("huitouke.web.urls")),
    path("", include("huitouke.ops.urls")),
    path("accounts/", include((accounts_section, accounts_urls.app_name))),
    path("customers/", include((customers_section, customers_urls.app_name))),
    path("sales/", include((sales_section, sales_urls.app_name))),
    path("audit/", include("huitouke.accounts.audit_urls")),
    path("analytics/", include("huitouke.analytics.urls")),
    path("imports/", include("huitouke.imports.urls")),
    path("loyalty/", include("huitouke.loyalty.urls")),
    path("segments/", include("huitouke.segments.urls")),
    path("automation/", include("huitouke.automation.urls")),
    path("messages/", include("huitouke.messaging.urls")),
    path("tasks/", include("huitouke.followups.urls")),
    path("members/", include("huitouke.members.urls")),
    path("m/", include("huitouke.members.member_urls")),
    path("integrations/", include("huitouke.integrations.urls")),
    path("wecom/", include("huitouke.wecom.urls")),
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

# The error pages: the app's layout, the user's language, the way back (web/errors.py).
handler403 = "huitouke.web.errors.permission_denied"
handler404 = "huitouke.web.errors.page_not_found"
handler500 = "huitouke.web.errors.server_error"
