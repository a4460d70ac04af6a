"""The customer list (screen and API): its filters are a segment definition, run by compile_segment.

The list combines the customer (customers) with the one customer filter (segments.compiler), so
it lives here, in the higher of the two apps (docs/architecture.md, "where a new feature goes").
`list_definition` turns the list's filters (the screen's form, the API's query parameters) into
the segment definition with the same conditions, so the list, the API, exports and a saved
segment give the same customers, and "days since the last order" is computed once, by the
compiler. The search box is customers.queries.search_q, the one customer search.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Store, User
from huitouke.accounts.scoping import staff_q
from huitouke.analytics.models import Lifecycle, RfmSegment, ValueClass
from huitouke.customers.models import CustomerQuerySet, Tag
from huitouke.customers.queries import search_q
from huitouke.sales.models import Category
from huitouke.segments.compiler import VERSION, segment_customers

# A page of the customer list and of a segment's members: twenty cards is a phone's long scroll,
# and what a row costs to load and render stays small next to the page (bench/web_latency.py).
PAGE_SIZE = 20
# What a row of the list shows (customers/list.html): loading only these keeps a page cheap (the
# customer, her stats and analytics rows are wide: the JSON archive, the CLV columns).
LIST_COLUMNS = (
    "name",
    "phone",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "owner__display_name",
    "stats__orders_count",
    "stats__net_spend",
    "stats__last_order_at",
    "analytics__lifecycle",
    "analytics__value_class",
)

# The list's filters that are one condition each: parameter → (segment field, operator).
_CONDITIONS: dict[str, tuple[str, str]] = {
    "spend_min": ("net_spend", "gte"),
    "spend_max": ("net_spend", "lte"),
    "orders_min": ("orders_count", "gte"),
    "orders_max": ("orders_count", "lte"),
    "p_alive_max": ("p_alive", "lte"),
    "clv_min": ("predicted_clv", "gte"),
    "days_min": ("days_since_last_order", "gte"),
    "days_max": ("days_since_last_order", "lte"),
}


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _pk(value: Any) -> int | None:
    """A model instance's pk or an id given as a number or its digits; None for anything else."""
    value = getattr(value, "pk", value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def list_definition(params: dict[str, Any]) -> dict[str, Any]:
    """The segment definition with the conditions of the list's filters (all must hold)."""
    conditions: list[dict[str, Any]] = []

    def add(field: str, op: str, value: Any = None) -> None:
        condition = {"field": field, "op": op}
        if value is not None:
            condition["value"] = value
        conditions.append(condition)

    for key in ("store", "due_category"):
        if (pk := _pk(params.get(key))) is not None:
            add(key, "in", [pk])
    owner = params.get("owner")
    if owner == "none":
        add("owner", "is_empty")
    elif (pk := _pk(owner)) is not None:
        add("owner", "in", [pk])
    has_orders = params.get("has_orders")
    if has_orders in ("yes", True):
        add("orders_count", "gt", 0)
    elif has_orders in ("no", False):
        add("orders_count", "eq", 0)
    if tag := params.get("tag"):
        add("tags", "any", [str(tag)])
    for key in ("lifecycle", "rfm_segment", "value_class"):
        if value := params.get(key):
            add(key, "in", [str(value)])
    if params.get("reactivated") in ("yes", True):
        add("reactivated", "is", True)
    for key, (field, op) in _CONDITIONS.items():
        if _present(value := params.get(key)):
            # A definition is JSON: a form's Decimal goes as its digits (the compiler reads them).
            add(field, op, str(value) if isinstance(value, Decimal) else value)
    return {"version": VERSION, "match": "all", "conditions": conditions}


def filter_customers(user: Any, params: dict[str, Any]) -> CustomerQuerySet:
    """The customers `user` may see that pass the list's filters and match its search text."""
    qs = segment_customers(list_definition(params), user.organisation, scope=user)
    if q := params.get("q"):
        qs = qs.filter(search_q(str(q), user.organisation_id))
    return qs


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone or tag")}),
    )
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)
    owner = forms.CharField(label=_("Owner"), required=False)
    has_orders = forms.ChoiceField(
        label=_("Orders"),
        required=False,
        choices=[("", _("All")), ("yes", _("Has bought")), ("no", _("Potential (no order)"))],
    )
    # Analytics filters (values from the nightly refresh; days since last order is live).
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"), required=False, choices=[("", _("All")), *Lifecycle.choices]
    )
    reactivated = forms.ChoiceField(
        label=_("Came back"), required=False, choices=[("", _("All")), ("yes", _("Reactivated"))]
    )
    rfm_segment = forms.ChoiceField(
        label=_("RFM segment"), required=False, choices=[("", _("All")), *RfmSegment.choices]
    )
    value_class = forms.ChoiceField(
        label=_("Value class"), required=False, choices=[("", _("All")), *ValueClass.choices]
    )
    days_min = forms.IntegerField(
        label=_("Days since last order, from"), required=False, min_value=0
    )
    days_max = forms.IntegerField(label=_("to"), required=False, min_value=0)
    spend_min = forms.DecimalField(label=_("Net spend, from"), required=False, min_value=0)
    spend_max = forms.DecimalField(label=_("to"), required=False, min_value=0)
    orders_min = forms.IntegerField(label=_("Orders, from"), required=False, min_value=0)
    orders_max = forms.IntegerField(label=_("to"), required=False, min_value=0)
    due_category = forms.ModelChoiceField(
        label=_("Due to rebuy"), queryset=Category.objects.none(), required=False
    )
    p_alive_max = forms.FloatField(
        label=_("P(alive) at most"), required=False, min_value=0, max_value=1
    )
    clv_min = forms.DecimalField(label=_("Predicted 12-month value, from"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["store"].queryset = Store.objects.filter(organisation=user.organisation)  # type: ignore[attr-defined]
        self.fields["due_category"].queryset = Category.objects.filter(  # type: ignore[attr-defined]
            organisation=user.organisation
        )
        owners = User.objects.filter(staff_q(user), is_active=True)
        self.fields["owner"].widget = forms.Select(
            choices=[
                ("", _("Anyone")),
                ("none", _("Nobody")),
                *[(str(u.pk), str(u)) for u in owners],
            ]
        )


def list_rows(customers: CustomerQuerySet) -> CustomerQuerySet:
    """The customers as a page of the list shows them: one query for the rows, one for the tags."""
    return (
        customers.select_related("stats", "owner", "analytics")
        .only(*LIST_COLUMNS)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("name")))
        .order_by("-id")
    )


@login_required
def customer_list(request: AuthedRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET or None, user=request.user)
    params = form.cleaned_data if form.is_valid() else {}
    qs = list_rows(filter_customers(request.user, params))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "page": page, "query": query.urlencode(), "active_nav": "customers"}
    template = "customers/list.html#rows" if request.htmx else "customers/list.html"
    return render(request, template, ctx)
