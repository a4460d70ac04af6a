"""Analytics screens: the dashboard sections, the repurchase-cycles page, refresh on demand."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role
from huitouke.analytics import charts, queries
from huitouke.analytics.actions import do_adopt_learned_cycle
from huitouke.analytics.jobs import local_today
from huitouke.analytics.models import RefreshRun, ReportKind
from huitouke.analytics.tasks import refresh_organisation_task
from huitouke.sales.models import Category


def _owner_or_manager(request: AuthedRequest) -> None:
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied


def dashboard_context(user: Any) -> dict[str, Any]:
    """What every dashboard shows for `user`'s scope: KPI cards, lifecycle funnel, act-now lists."""
    org_id = user.organisation_id
    if org_id is None:
        return {}
    kpi = queries.latest_report(org_id, ReportKind.KPIS, queries.report_scope(user))
    clv = queries.latest_report(org_id, ReportKind.CLV)
    threshold = clv.data.get("valuable_threshold") if clv else None
    return {
        "analytics_as_of": kpi.as_of if kpi else None,
        "kpi_cards": charts.kpi_cards(kpi),
        "kpi_periods": kpi.data.get("periods") if kpi else None,
        "funnel": queries.lifecycle_funnel(user),
        "turning_silent": queries.turning_silent(user),
        "due_this_week": queries.due_this_week(user),
        "birthdays": queries.birthdays_this_week(user, local_today(user.organisation)),
        "valuable_fading": queries.valuable_fading(user, threshold),
        "fading_p_alive": queries.FADING_P_ALIVE,
        "unavailable_reports": queries.unavailable_reports(
            org_id,
            ["", queries.report_scope(user)]
            if user.role in (Role.OWNER, Role.MANAGER)
            else [queries.report_scope(user)],
        ),
    }


@login_required
def overview(request: AuthedRequest) -> HttpResponse:
    user = request.user
    org_id = user.organisation_id
    if org_id is None:
        raise Http404
    scope = queries.report_scope(user)
    # Product-level analyses (cycles, baskets, margins, the model's calibration) are
    # organisation-wide; sales staff see only the sections about their own customers.
    org_wide = user.role in (Role.OWNER, Role.MANAGER)

    def report(kind: str, report_scope: str = "") -> Any:
        return queries.latest_report(org_id, kind, report_scope)

    ctx: dict[str, Any] = {
        **dashboard_context(user),
        "active_nav": "analytics",
        "org_wide": org_wide,
        "rfm": queries.rfm_grid(user),
        "cohorts": charts.cohort_heatmap(report(ReportKind.COHORTS, scope)),
        "categories": charts.category_chart(report(ReportKind.CATEGORIES, scope), org_id),
        "last_run": RefreshRun.objects.filter(organisation_id=org_id).first(),
    }
    if org_wide:
        basket = report(ReportKind.BASKET)
        clv = report(ReportKind.CLV)
        ctx.update(
            cycles=charts.cycles_chart(report(ReportKind.CYCLES), org_id),
            basket=basket.data if basket else None,
            category_pairs=charts.basket_rows(basket, org_id, "category_pairs"),
            product_pairs=charts.basket_rows(basket, org_id, "product_pairs"),
            pair_min_orders=charts.PAIR_MIN_ORDERS,
            traffic=charts.traffic_profit_chart(report(ReportKind.TRAFFIC_PROFIT)),
            calibration=charts.calibration_chart(clv),
            clv=charts.clv_messages(clv),
        )
    return render(request, "analytics/overview.html", ctx)


@login_required
def cycles(request: AuthedRequest) -> HttpResponse:
    _owner_or_manager(request)
    org_id = request.user.organisation_id
    report = queries.latest_report(org_id, ReportKind.CYCLES)  # type: ignore[arg-type]
    ctx = {
        "active_nav": "analytics",
        "rows": charts.cycles_table(report, org_id),  # type: ignore[arg-type]
        "products": charts.product_cycles(report),
        "as_of": report.as_of if report else None,
    }
    return render(request, "analytics/cycles.html", ctx)


@login_required
@require_POST
def adopt_cycle(request: AuthedRequest, pk: int) -> HttpResponse:
    _owner_or_manager(request)
    category = Category.objects.filter(organisation_id=request.user.organisation_id, pk=pk).first()
    if category is None:
        raise Http404
    try:
        fresh = do_adopt_learned_cycle(category, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("“%(name)s” now uses a repurchase cycle of %(days)s days.")
            % {"name": fresh.name, "days": fresh.cycle_days},
        )
    return redirect("analytics:cycles")


@login_required
@require_POST
def refresh_now(request: AuthedRequest) -> HttpResponse:
    _owner_or_manager(request)

    refresh_organisation_task(request.user.organisation_id)
    messages.success(
        request, _("The numbers are being recalculated; reload this page in a minute.")
    )
    return redirect("analytics:overview")
