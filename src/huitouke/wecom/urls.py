from django.urls import path

from huitouke.wecom import views

app_name = "wecom"

urlpatterns = [
    path("callback/<int:org_id>/", views.callback, name="callback"),
]
