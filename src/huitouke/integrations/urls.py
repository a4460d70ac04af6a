from django.urls import path

from huitouke.integrations import views

app_name = "integrations"
urlpatterns = [
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/toggle/", views.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("deliveries/<int:pk>/replay/", views.delivery_replay, name="delivery_replay"),
]
