from django.contrib import admin
from django.urls import include, path

from huitouke.api import api

urlpatterns = [
    path("", include("huitouke.web.urls")),
    path("", include("huitouke.ops.urls")),
    path("accounts/", include("huitouke.accounts.urls")),
    path("customers/", include("huitouke.customers.urls")),
    path("sales/", include("huitouke.sales.urls")),
    path("audit/", include("huitouke.audit.urls")),
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
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
