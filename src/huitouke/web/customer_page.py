"""The customer page: the before-the-call card on top, the filterable, paged timeline below.

It combines customers, sales, loyalty, analytics, followups and messaging, so it lives in `web`
(the top layer) and reads each app's queries; the customer app keeps its writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.scoping import can_reveal_phone
from huitouke.analytics.queries import customer_panel
from huitouke.core.occasions import next_birthday
from huitouke.customers import actions
from huitouke.customers.forms import FamilyMemberForm, InteractionForm
from huitouke.customers.models import Customer, CustomField, FieldGroup, InteractionKind, Relation
from huitouke.customers.queries import get_customer_for, moved_from, owner_history
from huitouke.followups.models import FollowUpTask, TaskStatus
from huitouke.loyalty.queries import customer_panel_context
from huitouke.messaging.models import Message
from huitouke.sales.models import Order, OrderStatus
from huitouke.sales.phases import Phase
from huitouke.sales.queries import purchase_phases

TIMELINE_PAGE = 20

# The timeline's filters: key → label (the querystring's ?show=).
TIMELINE_KINDS = {
    "orders": gettext_lazy("Orders"),
    "contacts": gettext_lazy("Contacts"),
    "messages": gettext_lazy("Messages"),
    "tasks": gettext_lazy("Tasks"),
}

# The soft archive first: it is what the seed says matters most before a call.
GROUP_ORDER = [FieldGroup.SOFTWARE, FieldGroup.STYLE, FieldGroup.HARDWARE, FieldGroup.OTHER]


@dataclass
class Entry:
    kind: str  # order, contact, message, task
    at: datetime
    obj: Any


@dataclass
class TimelinePage:
    entries: list[Entry]
    show: str
    number: int
    count: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // TIMELINE_PAGE))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _sources(customer: Customer) -> dict[str, tuple[Any, str]]:
    """Each timeline kind: (queryset newest first, the field that dates an entry)."""
    return {
        "orders": (
            Order.objects.filter(customer=customer)
            .select_related("store", "staff")
            .prefetch_related("lines")
            .order_by("-placed_at", "-id"),
            "placed_at",
        ),
        "contacts": (
            customer.interactions.select_related("staff").order_by("-occurred_at", "-id"),
            "occurred_at",
        ),
        "messages": (
            Message.objects.filter(customer=customer)
            .select_related("rule")
            .order_by("-created_at", "-id"),
            "created_at",
        ),
        "tasks": (
            FollowUpTask.objects.filter(customer=customer)
            .select_related("assignee")
            .order_by("-due_at", "-id"),
            "due_at",
        ),
    }


_ENTRY_KIND = {"orders": "order", "contacts": "contact", "messages": "message", "tasks": "task"}


def timeline_page(customer: Customer, show: str, number: int) -> TimelinePage:
    """One page of her timeline, newest first, of one kind or (show="") of all kinds merged.

    Merging pages of several lists: the first `number × page size` of each kind, sorted together,
    hold every entry of the page asked for, so that page is cut from them.
    """
    sources = _sources(customer)
    kinds = [show] if show in sources else list(sources)
    count = sum(sources[k][0].count() for k in kinds)
    pages = max(1, -(-count // TIMELINE_PAGE))
    number = min(max(1, number), pages)
    end = number * TIMELINE_PAGE
    merged: list[Entry] = []
    for kind in kinds:
        qs, field = sources[kind]
        merged += [Entry(_ENTRY_KIND[kind], getattr(o, field), o) for o in qs[:end]]
    merged.sort(key=lambda e: e.at, reverse=True)
    return TimelinePage(
        merged[end - TIMELINE_PAGE : end], show if show in sources else "", number, count
    )


def _archive(customer: Customer) -> tuple[list[tuple[str, list[tuple[str, str]]]], list[str]]:
    """Her filled archive fields by group (soft archive first), and the labels still empty."""
    fields = list(CustomField.objects.filter(organisation_id=customer.organisation_id, active=True))
    groups: dict[str, list[tuple[str, str]]] = {}
    empty: list[str] = []
    for f in fields:
        value = (customer.custom or {}).get(f.key)
        if value in (None, "", []):
            empty.append(f.label)
            continue
        shown = "、".join(str(v) for v in value) if isinstance(value, list) else str(value)
        groups.setdefault(f.group, []).append((f.label, shown))
    labels = dict(FieldGroup.choices)
    ordered = [(str(labels[g]), groups[g]) for g in GROUP_ORDER if g in groups]
    return ordered, empty


def _family(customer: Customer, today: date) -> list[dict[str, Any]]:
    """Family members with their age and the days to the next birthday (children first)."""
    rows: list[dict[str, Any]] = []
    for m in customer.family.all():
        days, when = None, today
        if m.birth_month and m.birth_day:
            kind: Literal["solar", "lunar"] = "lunar" if m.birthday_kind == "lunar" else "solar"
            when = next_birthday(kind, m.birth_month, m.birth_day, m.birth_leap_month, today)
            days = (when - today).days
        age = today.year - m.birth_year if m.birth_year else None
        if age is not None and days and m.birthday_kind != "lunar" and when.year == today.year:
            age -= 1  # this year's birthday is still to come
        rows.append(
            {
                "member": m,
                "days_to_birthday": days,
                "age": age,
                "child": m.relation == Relation.CHILD,
            }
        )
    rows.sort(key=lambda r: not r["child"])
    return rows


def _last_visit(customer: Customer, stats: Any) -> datetime | None:
    """Her last order or recorded visit, whichever is later."""
    visit = (
        customer.interactions.filter(kind=InteractionKind.VISIT)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    times = [t for t in (visit, stats.last_order_at if stats else None) if t is not None]
    return max(times) if times else None


def call_card(customer: Customer, today: date) -> dict[str, Any]:
    """What staff need to see before calling her, from every app's data."""
    stats = customer.stats
    last_visit = _last_visit(customer, stats)
    last_order = (
        Order.objects.filter(customer=customer, status=OrderStatus.PAID)
        .prefetch_related("lines")
        .order_by("-placed_at", "-id")
        .first()
    )
    archive, archive_empty = _archive(customer)
    tz = ZoneInfo(customer.organisation.time_zone)
    next_task = (
        FollowUpTask.objects.filter(customer=customer, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("due_at", "id")
        .first()
    )
    return {
        "last_visit": last_visit,
        "days_since_visit": (today - last_visit.astimezone(tz).date()).days if last_visit else None,
        "last_order": last_order,
        "archive": archive,
        "archive_empty": archive_empty,
        "family_rows": _family(customer, today),
        "next_task": next_task,
    }


def _due(analytics: Any, phases: list[Any]) -> list[tuple[str, bool]]:
    """What is due (label, due now): the nightly repurchase cycles, then purchases running out."""
    due = [(d.category.name, d.due_now) for d in (analytics.due if analytics else [])]
    names = {name for name, _now in due}
    for p in phases:
        name = p.category.name if p.category else p.name
        if p.phase in (Phase.ENDING, Phase.DORMANT) and name not in names:
            due.append((f"{name} · {p.phase_label}", True))
    return due


@login_required
def customer_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        customer = get_customer_for(request, pk)
    except Http404:
        return _moved_or_404(request, pk)
    if request.htmx and request.GET.get("partial") == "timeline":
        return render(
            request, "customers/detail.html#timeline", _timeline_context(request, customer)
        )
    return render_detail(request, customer)


def _moved_or_404(request: AuthedRequest, pk: int) -> HttpResponse:
    """A customer who was hers and moved on: say to whom (her name only), not a bare 404."""
    moved = moved_from(request.user, pk)
    if moved is None:
        raise Http404
    kept = moved.merged_into or moved
    if Customer.objects.visible_to(request.user).filter(pk=kept.pk).exists():
        return redirect("customers:detail", kept.pk)
    ctx = {"new_owner": str(kept.owner) if kept.owner else "", "active_nav": "customers"}
    return render(request, "customers/moved.html", ctx)


def _timeline_context(request: AuthedRequest, customer: Customer) -> dict[str, Any]:
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        number = 1
    return {
        "customer": customer,
        "timeline": timeline_page(customer, request.GET.get("show", ""), number),
        "timeline_kinds": TIMELINE_KINDS,
    }


def render_detail(request: AuthedRequest, customer: Customer, **forms: Any) -> HttpResponse:
    tz = ZoneInfo(customer.organisation.time_zone)
    today = timezone.now().astimezone(tz).date()
    analytics = customer_panel(customer)
    phases = purchase_phases(customer, today)
    card = call_card(customer, today)
    card["due"] = _due(analytics, phases)
    ctx: dict[str, Any] = {
        "customer": customer,
        "stats": customer.stats,
        "card": card,
        "tags": customer.tags.all(),
        "interaction_form": forms.get("interaction_form") or InteractionForm(),
        "family_form": forms.get("family_form") or FamilyMemberForm(),
        "family_form_open": "family_form" in forms,
        "can_reveal": can_reveal_phone(request.user, customer),
        "analytics_panel": analytics,
        "purchase_phases": phases,
        "active_nav": "customers",
        **_timeline_context(request, customer),
    }
    ctx.update(customer_panel_context(customer))
    ctx["owner_history"] = owner_history(customer)
    return render(request, "customers/detail.html", ctx)


@login_required
@require_POST
def add_family_member(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_customer_for(request, pk)
    form = FamilyMemberForm(request.POST)
    if form.is_valid():
        actions.do_add_family_member(
            customer, form.save(commit=False), actor=request.user, request=request
        )
        messages.success(request, _("Family member added."))
        return redirect("customers:detail", pk)
    # Shown again with what was typed and the reason beside the field.
    return render_detail(request, customer, family_form=form)
