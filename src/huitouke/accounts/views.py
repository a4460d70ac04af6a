"""Account screens: my settings (password, API tokens), staff and stores.

The handover and shop-settings screens of the same section live in customers.account_views:
they write customers' data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts import actions
from huitouke.accounts.forms import StaffForm, StoreForm
from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import ApiToken, Role, Store, TokenScope, User
from huitouke.accounts.scoping import staff_q


@login_required
def settings_page(request: AuthedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = actions.do_change_own_password(form, actor=request.user, request=request)
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password was changed."))
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {**_settings_context(request), "form": form})


# The expiry choices of the token form, in days (0: never).
TOKEN_LIFETIMES = (30, 90, 365, 0)


def _settings_context(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    return {
        "form": PasswordChangeForm(request.user),
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        "scopes": TokenScope.choices,
        "lifetimes": TOKEN_LIFETIMES,
        **extra,
    }


@login_required
@require_POST
def token_create(request: AuthedRequest) -> HttpResponse:
    scope = request.POST.get("scope", TokenScope.FULL)
    days = request.POST.get("days", "90")
    if scope not in TokenScope.values or not days.isdigit() or int(days) not in TOKEN_LIFETIMES:
        messages.error(request, _("Choose what the token may do and when it expires."))
        return redirect("accounts:settings")
    raw = actions.do_create_token(
        request.user,
        (request.POST.get("name") or "API")[:100],
        actor=request.user,
        scope=scope,
        expires_at=timezone.now() + timedelta(days=int(days)) if int(days) else None,
        request=request,
    )
    return render(request, "accounts/settings.html", _settings_context(request, new_token=raw))


@login_required
@require_POST
def token_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk, user=request.user)
    actions.do_revoke_token(token, actor=request.user, request=request)
    messages.success(request, _("Token revoked."))
    return redirect("accounts:settings")


@login_required
def staff_list(request: AuthedRequest) -> HttpResponse:
    require_role(request, Role.OWNER, Role.MANAGER)
    staff = (
        User.objects.filter(staff_q(request.user))
        .select_related("store")
        .annotate(
            customers=Count("owned_customers", filter=Q(owned_customers__merged_into__isnull=True))
        )
        .order_by("store_id", "role", "id")
    )
    stores = Store.objects.filter(organisation=request.user.organisation)
    return render(
        request, "accounts/staff.html", {"staff": staff, "stores": stores, "active_nav": "staff"}
    )


@login_required
def staff_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    require_role(request, Role.OWNER)
    org = request.user.organisation
    instance = get_object_or_404(User, pk=pk, organisation=org) if pk else User(organisation=org)
    form = StaffForm(request.POST or None, instance=instance, organisation=org)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.organisation = org
        actions.do_save_staff(
            user,
            actor=request.user,
            password=form.cleaned_data.get("password") or "",
            request=request,
        )
        messages.success(request, _("Saved."))
        return redirect("accounts:staff")
    return render(
        request,
        "accounts/edit.html",
        {"form": form, "title": _("Staff member"), "active_nav": "staff"},
    )


@login_required
def store_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    require_role(request, Role.OWNER)
    org = request.user.organisation
    instance = get_object_or_404(Store, pk=pk, organisation=org) if pk else Store(organisation=org)
    form = StoreForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        actions.do_save_store(form.save(commit=False), actor=request.user, request=request)
        messages.success(request, _("Saved."))
        return redirect("accounts:staff")
    return render(
        request, "accounts/edit.html", {"form": form, "title": _("Store"), "active_nav": "staff"}
    )
