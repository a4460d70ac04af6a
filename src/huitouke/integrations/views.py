"""Screens of the integrations app: the owner's webhook endpoints and their delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.integrations.forms import EndpointForm
from huitouke.integrations.models import WebhookDelivery, WebhookEndpoint
from huitouke.integrations.webhooks import (
    do_create_endpoint,
    do_delete_endpoint,
    do_replay_delivery,
    do_update_endpoint,
)


def _owner(request: AuthedRequest) -> None:
    if request.user.role != Role.OWNER or request.user.organisation_id is None:
        raise PermissionDenied


def _endpoint(request: AuthedRequest, pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk, organisation_id=request.user.organisation_id)


@login_required
def webhooks(request: AuthedRequest) -> HttpResponse:
    """List the endpoints with their recent deliveries; add one (owner only)."""
    _owner(request)
    form = EndpointForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _created, secret = do_create_endpoint(
                organisation=request.user.organisation,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = EndpointForm()
    endpoints = WebhookEndpoint.objects.filter(
        organisation_id=request.user.organisation_id
    ).order_by("-created_at")
    deliveries = (
        WebhookDelivery.objects.filter(endpoint__organisation_id=request.user.organisation_id)
        .select_related("endpoint")
        .order_by("-created_at", "-id")[:50]
    )
    return render(
        request,
        "integrations/webhooks.html",
        {"form": form, "endpoints": endpoints, "deliveries": deliveries, "new_secret": secret},
    )


@login_required
@require_POST
def webhook_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    _owner(request)
    endpoint = _endpoint(request, pk)
    do_update_endpoint(
        endpoint,
        events=endpoint.events,
        is_active=not endpoint.is_active,
        actor=request.user,
        request=request,
    )
    messages.success(
        request, _("Endpoint switched on.") if endpoint.is_active else _("Endpoint switched off.")
    )
    return redirect("integrations:webhooks")


@login_required
@require_POST
def webhook_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _owner(request)
    do_delete_endpoint(_endpoint(request, pk), actor=request.user, request=request)
    messages.success(request, _("Endpoint removed."))
    return redirect("integrations:webhooks")


@login_required
@require_POST
def delivery_replay(request: AuthedRequest, pk: int) -> HttpResponse:
    _owner(request)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint__organisation"),
        pk=pk,
        endpoint__organisation_id=request.user.organisation_id,
    )
    do_replay_delivery(delivery, actor=request.user, request=request)
    messages.success(request, _("The event will be sent again."))
    return redirect("integrations:webhooks")
