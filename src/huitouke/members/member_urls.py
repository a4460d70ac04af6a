"""The member's pages, under /m/ (sessions.MEMBER_PREFIX): the only URLs a member session opens."""

from django.urls import path

from huitouke.members import views

app_name = "member"
urlpatterns = [
    path("", views.index, name="index"),
    path("j/<str:token>/", views.join, name="join"),
    path("j/<str:token>/code/", views.send_code, name="send_code"),
    path("me/", views.home, name="home"),
    path("me/pass/", views.member_pass, name="pass"),
    path("me/consent/", views.consent, name="consent"),
    path("me/data/", views.data_request, name="data_request"),
    path("sign-out/", views.sign_out, name="sign_out"),
]
