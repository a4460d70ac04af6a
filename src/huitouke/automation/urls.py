from django.urls import path

from huitouke.automation import views

app_name = "automation"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_edit, name="create"),
    path("campaigns/new/", views.campaign_edit, name="campaign"),
    path("preview/", views.rule_preview, name="preview"),
    path("<int:pk>/preview/", views.rule_preview, name="preview_rule"),
    path("templates/<slug:code>/enable/", views.template_enable, name="enable_template"),
    path("<int:pk>/", views.rule_detail, name="detail"),
    path("<int:pk>/edit/", views.rule_edit, name="edit"),
    path("<int:pk>/toggle/", views.rule_toggle, name="toggle"),
]
