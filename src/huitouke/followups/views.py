"""Task screens: my inbox, one task, closing it, a manual task, the team view, SOP rules, staff results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Role
from huitouke.customers.queries import get_customer_for
from huitouke.followups import actions, queries
from huitouke.followups.defaults import ensure_default_rules
from huitouke.followups.forms import (
    CompleteForm,
    PeriodForm,
    SkipForm,
    SopRuleForm,
    TaskForm,
)
from huitouke.followups.models import FollowUpTask, SopRule, TaskKind

MANAGERS = (Role.OWNER, Role.MANAGER)


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _row(request: AuthedRequest, task: FollowUpTask, error: str = "") -> HttpResponse:
    ctx = {"task": task, "now": timezone.now(), "error": error}
    return render(request, "followups/_task.html", ctx)


def _back(request: AuthedRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("followups:inbox")


TAB_LABELS = {
    "today": pgettext_lazy("tasks tab", "Today"),
    "overdue": pgettext_lazy("tasks tab", "Overdue"),
    "upcoming": pgettext_lazy("tasks tab", "Upcoming"),
    "done": pgettext_lazy("tasks tab", "Done"),
}


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    """My tasks in tabs (today, overdue, upcoming, done), by kind, paged, with counts."""
    now = timezone.now()
    kind = request.GET.get("kind", "")
    kind = kind if kind in TaskKind.values else ""
    data = queries.inbox_tabs(request.user, kind=kind, now=now)
    tab = request.GET.get("tab", "")
    if tab not in queries.INBOX_TABS:
        # Opened without a tab: the first of today / overdue / upcoming with something to do, so
        # late in the evening tomorrow's tasks are not hidden behind an empty "today".
        open_tabs = ("today", "overdue", "upcoming")
        tab = next((t for t in open_tabs if data["counts"][t]), "today")
    page = Paginator(data["querysets"][tab], queries.INBOX_PAGE).get_page(request.GET.get("page"))
    kind_labels = dict(TaskKind.choices)
    in_tab = data["by_kind"][tab]
    ctx = {
        "tab": tab,
        "kind": kind,
        "tabs": [(t, TAB_LABELS[t], data["counts"][t]) for t in queries.INBOX_TABS],
        "kinds": [(k, kind_labels[k], in_tab[k]) for k in TaskKind.values if k in in_tab],
        "tab_total": sum(in_tab.values()),
        "page": page,
        "now": now,
        "active_nav": "tasks",
        "is_manager": request.user.role in MANAGERS,
    }
    return render(request, "followups/inbox.html", ctx)


@login_required
def task_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    task = queries.get_task_for(request.user, pk)
    ctx = {
        "task": task,
        "now": timezone.now(),
        "complete_form": CompleteForm(),
        "skip_form": SkipForm(),
        "active_nav": "tasks",
    }
    return render(request, "followups/task_detail.html", ctx)


@login_required
@require_POST
def task_complete(request: AuthedRequest, pk: int) -> HttpResponse:
    task = queries.get_task_for(request.user, pk)
    form = CompleteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            task = actions.do_complete_task(
                task, actor=request.user, outcome=form.cleaned_data["outcome"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        return _row(request, task, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("Done: it is on %(name)s's timeline.") % {"name": task.customer.name}
        )
    return _back(request)


@login_required
@require_POST
def task_skip(request: AuthedRequest, pk: int) -> HttpResponse:
    task = queries.get_task_for(request.user, pk)
    form = SkipForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            task = actions.do_skip_task(
                task, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = _("Say why the task is skipped.")
    if request.htmx:
        return _row(request, task, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Task skipped."))
    return _back(request)


@login_required
def task_create(request: AuthedRequest) -> HttpResponse:
    try:
        customer_id = int(request.GET.get("customer") or request.POST.get("customer") or "")
    except ValueError:
        customer_id = 0
    customer = get_customer_for(request, customer_id)
    tomorrow = timezone.localtime() + timedelta(days=1)
    form = TaskForm(
        request.POST or None,
        user=request.user,
        initial={"due_at": tomorrow.replace(minute=0, second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_create_task(
                customer=customer,
                kind=data["kind"],
                due_at=data["due_at"],
                actor=request.user,
                assignee=data["assignee"],
                title=data["title"],
                script_template=data["script"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Task created."))
            return redirect("customers:detail", customer.pk)
    ctx = {"form": form, "customer": customer, "active_nav": "tasks"}
    return render(request, "followups/task_form.html", ctx)


@login_required
def team(request: AuthedRequest) -> HttpResponse:
    require_role(request, *MANAGERS)
    ctx = {**queries.team(request.user), "now": timezone.now(), "active_nav": "tasks"}
    return render(request, "followups/team.html", ctx)


# --- SOP rules ----------------------------------------------------------------------------------


@login_required
def rule_list(request: AuthedRequest) -> HttpResponse:
    require_role(request, *MANAGERS)
    ensure_default_rules(request.user.organisation)
    rules = SopRule.objects.filter(organisation_id=request.user.organisation_id).select_related(
        "segment"
    )
    return render(request, "followups/rules.html", {"rules": rules, "active_nav": "tasks"})


@login_required
def rule_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    require_role(request, *MANAGERS)
    organisation = request.user.organisation
    rule = None
    if pk is not None:
        rule = get_object_or_404(SopRule, pk=pk, organisation_id=request.user.organisation_id)
    else:
        # New SOPs are the owner's decision; managers tune the existing ones.
        require_role(request, Role.OWNER)
    form = SopRuleForm(request.POST or None, instance=rule, organisation_id=organisation.pk)
    if request.method == "POST" and form.is_valid():
        fields = form.action_fields()
        try:
            if rule is None:
                rule = actions.do_create_sop_rule(
                    organisation=organisation, actor=request.user, request=request, **fields
                )
            else:
                if rule.is_built_in:
                    fields.pop("trigger")
                # The form has already copied the values onto the instance; reload it so the
                # action sees what changed.
                rule.refresh_from_db()
                actions.do_update_sop_rule(rule, actor=request.user, request=request, **fields)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("SOP rule saved."))
            return redirect("followups:rules")
    ctx = {"form": form, "rule": rule, "active_nav": "tasks"}
    return render(request, "followups/rule_form.html", ctx)


@login_required
@require_POST
def rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    require_role(request, Role.OWNER)
    rule = get_object_or_404(SopRule, pk=pk, organisation_id=request.user.organisation_id)
    try:
        actions.do_delete_sop_rule(rule, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("SOP rule deleted."))
    return redirect("followups:rules")


# --- staff results -------------------------------------------------------------------------------


@login_required
def staff_results(request: AuthedRequest) -> HttpResponse:
    require_role(request, *MANAGERS)
    today = queries.local_today(request.user)
    start, end = PeriodForm.default(today)
    form = PeriodForm(request.GET if "start" in request.GET else None)
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    elif not form.is_bound:
        form = PeriodForm(initial={"start": start, "end": end})
    sort = request.GET.get("sort", "revenue")
    if sort not in queries.SORT_KEYS:
        sort = "revenue"
    descending = request.GET.get("dir", "desc") != "asc"
    rows = sorted(
        queries.staff_results(request.user, start, end),
        key=queries.SORT_KEYS[sort],
        reverse=descending,
    )
    chart = {
        "names": [str(r.staff) for r in rows],
        "revenue": [float(r.revenue) for r in rows],
        "on_time": [r.done_on_time for r in rows],
        "late": [r.done_late for r in rows],
        "overdue": [r.overdue for r in rows],
        "labels": {
            "revenue": _("Revenue"),
            "on_time": _("Done on time"),
            "late": _("Done late"),
            "overdue": _("Overdue"),
        },
    }
    period = f"start={start.isoformat()}&end={end.isoformat()}"
    ctx = {
        "form": form,
        "rows": rows,
        "start": start,
        "end": end,
        "sort": sort,
        "descending": descending,
        "period": period,
        "presets": PeriodForm.presets(today),
        "chart": chart,
        "columns": [
            ("name", _("Staff")),
            ("customers", pgettext("count", "Customers")),
            ("revenue", _("Revenue")),
            ("repurchase", _("Repurchase rate")),
            ("active", pgettext("lifecycle", "Active")),
            ("silent", _("Silent")),
            ("churned", _("Churned")),
            ("on_time", _("Done on time")),
            ("overdue", _("Overdue")),
            ("delay", _("Average delay (hours)")),
        ],
        "active_nav": "staff_results",
    }
    return render(request, "followups/results.html", ctx)
