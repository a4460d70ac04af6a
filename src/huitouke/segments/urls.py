from django.urls import path

from huitouke.segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_edit, name="create"),
    path("count/", views.segment_count, name="count"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/duplicate/", views.segment_duplicate, name="duplicate"),
    path("<int:pk>/delete/", views.segment_delete, name="delete"),
]
