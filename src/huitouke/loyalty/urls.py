from django.urls import path

from huitouke.loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("coupons/", views.template_list, name="coupons"),
    path("coupons/new/", views.template_edit, name="template_create"),
    path("coupons/<int:pk>/", views.template_edit, name="template_edit"),
    path("coupons/issue/", views.issue, name="issue"),
    path("coupons/issued/<int:pk>/void/", views.void_coupon, name="void"),
    path("customers/<int:pk>/points/", views.points_history, name="history"),
    path("customers/<int:pk>/points/adjust/", views.adjust_points, name="adjust"),
    path("checkout/preview/", views.checkout_preview, name="checkout_preview"),
]
