from django.urls import path

from huitouke.accounts import views

# handover/ and organisation/ are added by huitouke/urls.py (customers.account_views).
app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/tokens/", views.token_create, name="token_create"),
    path("settings/tokens/<int:pk>/delete/", views.token_delete, name="token_delete"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/new/", views.staff_edit, name="staff_create"),
    path("staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("stores/new/", views.store_edit, name="store_create"),
    path("stores/<int:pk>/", views.store_edit, name="store_edit"),
]
