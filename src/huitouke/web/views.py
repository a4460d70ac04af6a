"""The dashboard: today's numbers for the signed-in user's scope."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from huitouke.accounts.http import AuthedRequest
from huitouke.analytics.views import dashboard_context
from huitouke.customers.models import Customer
from huitouke.sales.models import Order


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    customers = Customer.objects.visible_to(user)
    orders_today = Order.objects.visible_to(user).counted().filter(placed_at__gte=start)
    today_totals = orders_today.aggregate(n=Count("id"), revenue=Sum("net_paid"))
    ctx = {
        "active_nav": "dashboard",
        "customers_total": customers.count(),
        "customers_new_today": customers.filter(created_at__gte=start).count(),
        "potential": customers.filter(stats__orders_count=0).count(),
        "orders_today": today_totals["n"] or 0,
        "revenue_today": today_totals["revenue"] or 0,
        "unowned": customers.filter(owner__isnull=True).count()
        if getattr(user, "role", "") == "owner"
        else None,
        "recent_orders": Order.objects.visible_to(user)
        .select_related("customer", "store")
        .order_by("-placed_at")[:8],
        # Last 30 days, lifecycle and act-now lists from the nightly analytics, same scope.
        **dashboard_context(user),
    }
    return render(request, "web/dashboard.html", ctx)
