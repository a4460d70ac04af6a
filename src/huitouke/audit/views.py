"""The audit log, visible to owners."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.audit.models import AuditEntry


@login_required
def audit_list(request: AuthedRequest) -> HttpResponse:
    if request.user.role != Role.OWNER:
        raise PermissionDenied
    qs = AuditEntry.objects.filter(organisation=request.user.organisation).select_related("actor")
    if action := request.GET.get("action"):
        qs = qs.filter(action=action)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page, "active_nav": "audit"})
