"""The dashboard: today's numbers, the trends and the act-now lists for the signed-in user's scope."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.analytics import queries
from huitouke.analytics.jobs import local_today
from huitouke.analytics.models import ReportKind
from huitouke.analytics.views import dashboard_context
from huitouke.customers.models import Customer, CustomerStats
from huitouke.customers.queries import get_customer_for
from huitouke.followups.actions import do_create_task
from huitouke.followups.models import TaskKind
from huitouke.sales.models import Order
from huitouke.web import onboarding
from huitouke.web.dashboard import dashboard_trends


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if onboarding.should_start(user):
        return redirect("onboarding")
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    customers = Customer.objects.visible_to(user)
    orders_today = Order.objects.visible_to(user).counted().filter(placed_at__gte=start)
    today_totals = orders_today.aggregate(n=Count("id"), revenue=Sum("net_paid"))
    org = user.organisation
    ctx = {
        "active_nav": "dashboard",
        "help_anchor": "dashboard",
        "customers_total": customers.count(),
        "customers_new_today": customers.filter(created_at__gte=start).count(),
        "potential": _never_bought(user, customers),
        "orders_today": today_totals["n"] or 0,
        "revenue_today": today_totals["revenue"] or 0,
        "unowned": customers.filter(owner__isnull=True).count()
        if getattr(user, "role", "") == "owner"
        else None,
        "recent_orders": Order.objects.visible_to(user)
        .select_related("customer", "store")
        .order_by("-placed_at")[:8],
        "trends": dashboard_trends(user, local_today(org)) if org is not None else None,
        "setup_unfinished": onboarding.unfinished(user),
        "act_now_links": True,
        # Last 30 days, lifecycle and act-now lists from the nightly analytics, same scope.
        **dashboard_context(user),
    }
    return render(request, "web/dashboard.html", ctx)


def _never_bought(user: Any, customers: Any) -> int:
    """Customers in the user's scope who have not bought yet (潜客 on the dashboard).

    For the owner, two index-only counts instead of a join over every never-bought customer:
    the organisation's stats rows with no order, less those of customers merged away (their
    orders moved to the kept customer, so their stats say 0).
    """
    if getattr(user, "role", "") == Role.OWNER:
        org_id = user.organisation_id
        never = CustomerStats.objects.filter(organisation_id=org_id, orders_count=0).count()
        merged_away = Customer.objects.filter(organisation_id=org_id, merged_into__isnull=False)
        merged = CustomerStats.objects.filter(
            customer_id__in=merged_away.values("pk"), orders_count=0
        ).count()
        return never - merged
    return int(
        customers.filter(stats__organisation_id=user.organisation_id, stats__orders_count=0).count()
    )


ACT_NOW_KINDS = ("turning-silent", "due", "birthdays", "valuable-fading")
FULL_LIST = 500
PAGE_SIZE = 20


@login_required
def act_now(request: AuthedRequest, kind: str) -> HttpResponse:
    """One act-now list of the dashboard in full (up to 500, 20 a page), each row with its one-tap
    action."""
    user = request.user
    if kind not in ACT_NOW_KINDS or user.organisation is None:
        raise Http404
    ctx: dict[str, Any] = {"kind": kind, "active_nav": "dashboard", "help_anchor": "act-now"}
    if kind == "turning-silent":
        ctx["rows"] = queries.turning_silent(user, limit=FULL_LIST)
        ctx["title"] = _("About to go silent")
    elif kind == "due":
        ctx["rows"] = queries.due_this_week(user, limit=FULL_LIST)
        ctx["title"] = _("Due for repurchase this week")
    elif kind == "birthdays":
        ctx["rows"] = queries.birthdays_this_week(
            user, local_today(user.organisation), limit=FULL_LIST
        )
        ctx["title"] = _("Birthdays this week")
    else:
        clv = queries.latest_report(user.organisation_id, ReportKind.CLV)
        threshold = clv.data.get("valuable_threshold") if clv else None
        ctx["rows"] = queries.valuable_fading(user, threshold, limit=FULL_LIST)
        ctx["title"] = _("Valuable and fading")
    ctx["limit"] = FULL_LIST
    ctx["total"] = len(ctx["rows"])
    # 20 a page like the other lists; the page's rows replace the whole list.
    ctx["page"] = Paginator(ctx["rows"], PAGE_SIZE).get_page(request.GET.get("page"))
    ctx["rows"] = ctx["page"].object_list
    return render(request, "web/act_now.html", ctx)


@login_required
@require_POST
def act_now_task(request: AuthedRequest) -> HttpResponse:
    """The one-tap action of an act-now row: a call (or WeChat) task for today, to her owner."""
    try:
        customer_id = int(request.POST.get("customer", ""))
    except ValueError as exc:
        raise Http404 from exc
    customer = get_customer_for(request, customer_id)
    kind = request.POST.get("kind", TaskKind.CALL)
    reason = request.POST.get("reason", "")[:60]
    due = timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    try:
        do_create_task(
            customer=customer,
            kind=kind,
            due_at=due,
            actor=request.user,
            title=f"{TaskKind(kind).label if kind in TaskKind.values else ''} · {reason}".strip(
                " ·"
            ),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Task for %(name)s added to today's tasks.") % {"name": customer.name}
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return redirect(back or "/")


@login_required
def guide(request: AuthedRequest) -> HttpResponse:
    """What each number means and what to do about it (docs/definitions.md, in her language)."""
    return render(request, "web/guide.html", {"active_nav": "", "help_anchor": ""})
