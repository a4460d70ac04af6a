from django.urls import path

from huitouke.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/status/", views.job_status, name="status"),
    path("<int:pk>/mapping/", views.job_mapping, name="mapping"),
    path("<int:pk>/payers/", views.job_payers, name="payers"),
    path("<int:pk>/commit/", views.job_commit, name="commit"),
    path("<int:pk>/cancel/", views.job_cancel, name="cancel"),
    path("<int:pk>/errors.<str:fmt>", views.job_errors, name="errors"),
    path("<int:pk>/rows-to-fix/", views.job_bad_rows, name="bad_rows"),
    path("export/", views.export_page, name="export_page"),
    path("export/<str:kind>.<str:fmt>", views.export, name="export"),
    path("export/job/<int:pk>/", views.export_job, name="export_job"),
    path("export/job/<int:pk>/status/", views.export_status, name="export_status"),
    path("export/job/<int:pk>/download/", views.export_download, name="export_download"),
]
