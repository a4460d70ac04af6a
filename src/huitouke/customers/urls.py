from django.urls import path

from huitouke.customers import privacy_views, views

app_name = "customers"
urlpatterns = [
    path("new/", views.customer_create, name="create"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("merge/", views.merge, name="merge"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/interactions/", views.add_interaction, name="add_interaction"),
    path("<int:pk>/reveal-phone/", views.reveal_phone, name="reveal_phone"),
    path("<int:pk>/privacy/", privacy_views.privacy, name="privacy"),
    path("<int:pk>/privacy/export/", privacy_views.privacy_export, name="privacy_export"),
    path("<int:pk>/privacy/erase/", privacy_views.privacy_erase, name="privacy_erase"),
]
