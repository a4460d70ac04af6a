from django.urls import path

from huitouke.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("cycles/", views.cycles, name="cycles"),
    path("cycles/<int:pk>/adopt/", views.adopt_cycle, name="adopt_cycle"),
    path("refresh/", views.refresh_now, name="refresh"),
]
