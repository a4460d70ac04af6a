from django.urls import path

from huitouke.followups import views

app_name = "followups"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.task_create, name="create"),
    path("team/", views.team, name="team"),
    path("results/", views.staff_results, name="results"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/complete/", views.task_complete, name="complete"),
    path("<int:pk>/skip/", views.task_skip, name="skip"),
]
