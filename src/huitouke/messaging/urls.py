from django.urls import path

from huitouke.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<int:pk>/retry/", views.message_retry, name="retry"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("channels/", views.channels, name="channels"),
    path("customers/<int:pk>/", views.customer_messages, name="customer"),
    path("customers/<int:pk>/opt-out/", views.customer_opt_out, name="opt_out"),
    path("customers/<int:pk>/opt-in/", views.customer_opt_in, name="opt_in"),
    path("callback/<str:token>/", views.provider_callback, name="callback"),
]
