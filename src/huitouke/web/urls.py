from django.contrib.auth import views as auth_views
from django.urls import path

from huitouke.web import onboarding, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("act-now/task/", views.act_now_task, name="act_now_task"),
    path("act-now/<slug:kind>/", views.act_now, name="act_now"),
    path("guide/", views.guide, name="guide"),
    path("welcome/", onboarding.start, name="onboarding"),
    path("welcome/<slug:step>/", onboarding.step_view, name="onboarding_step"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Password reset by email: Django's views and tokens, our templates (the admin's own
    # registration/ templates would otherwise win).
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="password_reset/form.html",
            email_template_name="password_reset/email.txt",
            subject_template_name="password_reset/subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="password_reset/done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="password_reset/confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="password_reset/complete.html"),
        name="password_reset_complete",
    ),
]
