from django.urls import path

from huitouke.wecom import views

app_name = "wecom"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("test/", views.test_connection, name="test"),
    path("sync/", views.sync, name="sync"),
    path("members/<int:pk>/", views.map_member, name="map_member"),
    path("transfers/", views.transfers, name="transfers"),
    path("callback/<int:org_id>/", views.callback, name="callback"),
]
