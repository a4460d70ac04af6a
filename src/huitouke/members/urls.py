"""Staff screens of the member centre, under /members/."""

from django.urls import path

from huitouke.members import staff_views

app_name = "members"
urlpatterns = [
    path("", staff_views.member_list, name="list"),
    path("qr/", staff_views.code_list, name="codes"),
    path("qr/<int:pk>.svg", staff_views.code_svg, name="code_svg"),
    path("qr/<int:pk>.png", staff_views.code_png, name="code_png"),
    path("qr/<int:pk>/print/", staff_views.code_print, name="code_print"),
]
