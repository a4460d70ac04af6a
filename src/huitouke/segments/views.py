"""Segment screens: list with sizes, the builder with a live count, members, duplicate, delete."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role, User
from huitouke.customers.models import Customer, CustomField
from huitouke.segments import actions
from huitouke.segments.compiler import SegmentError, compile_segment, empty_definition
from huitouke.segments.customer_list import PAGE_SIZE, list_rows
from huitouke.segments.describe import ID_CHOICE_FIELDS, describe_definition, id_choices
from huitouke.segments.fields import FIELDS, OP_LABELS
from huitouke.segments.models import Segment


def _get_segment(request: AuthedRequest, pk: int) -> Segment:
    try:
        return Segment.objects.get(pk=pk, organisation=request.user.organisation)
    except Segment.DoesNotExist as exc:
        raise Http404 from exc


def _require_editor(request: AuthedRequest) -> None:
    if request.user.role not in (Role.OWNER, Role.MANAGER):
        raise PermissionDenied


def _members(request: AuthedRequest, definition: Any) -> Any:
    q = compile_segment(definition, request.user.organisation, scope=request.user)
    return Customer.objects.visible_to(request.user).filter(q)


def _referenced_ids(node: Any, field: str) -> set[int]:
    """The ids a definition names for one field (so the builder can show them by name)."""
    found: set[int] = set()
    if not isinstance(node, dict):
        return found
    for child in node.get("conditions") or []:
        if isinstance(child, dict) and "conditions" in child:
            found |= _referenced_ids(child, field)
        elif isinstance(child, dict) and child.get("field") == field:
            value = child.get("value")
            value = value.get("ids") if isinstance(value, dict) else value
            found |= (
                {v for v in value or [] if isinstance(v, int)} if isinstance(value, list) else set()
            )
    return found


def _used_fields(node: Any) -> set[str]:
    """The field names a definition uses."""
    found: set[str] = set()
    if isinstance(node, dict):
        for child in node.get("conditions") or []:
            if isinstance(child, dict) and "conditions" in child:
                found |= _used_fields(child)
            elif isinstance(child, dict) and isinstance(child.get("field"), str):
                found.add(child["field"])
    return found


def _field_spec(request: AuthedRequest, definition: Any = None) -> list[dict[str, Any]]:
    """The builder's field list: built-in fields plus the organisation's archive fields. Fields
    whose values are ids of the organisation's rows (store, staff, category, product) come with
    those rows' names as choices, so the builder never shows an id."""

    organisation = request.user.organisation
    by_id = id_choices(organisation, request.user)
    owners = dict(by_id["owner"])
    missing = _referenced_ids(definition, "owner") - set(owners)
    if missing:
        for user in User.objects.filter(organisation=organisation, pk__in=missing):
            owners[user.pk] = str(user)
        by_id["owner"] = sorted(owners.items(), key=lambda item: item[1])
    specs = [
        {
            "name": s.name,
            "label": str(s.label),
            "type": s.type,
            "ops": list(s.ops),
            "choices": (
                [[pk, name] for pk, name in by_id[s.name]]
                if s.name in by_id
                else [[c, str(label)] for c, label in s.choices]
            ),
            "ids": s.name in ID_CHOICE_FIELDS,
        }
        for s in FIELDS.values()
    ]
    # A deactivated archive field is no longer offered (a saved segment using it still counts).
    used = _used_fields(definition)
    for cf in CustomField.objects.filter(organisation=organisation):
        if not cf.active and f"custom.{cf.key}" not in used:
            continue
        kind = {
            "number": "number",
            "date": "custom_date",
            "choice": "choice",
            "multi": "multi",
        }.get(cf.type, "text")
        ops = {
            "number": ["eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"],
            "custom_date": ["before", "after", "between", "is_empty", "is_not_empty"],
            "choice": ["in", "not_in", "is_empty", "is_not_empty"],
            "multi": ["any", "none"],
        }.get(kind, ["eq", "ne", "contains", "startswith", "is_empty", "is_not_empty"])
        specs.append(
            {
                "name": f"custom.{cf.key}",
                "label": f"{cf.label}",
                "type": kind,
                "ops": ops,
                "choices": [[c, c] for c in cf.choices],
            }
        )
    return specs


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


@login_required
def segment_list(request: AuthedRequest) -> HttpResponse:
    rows = []
    for segment in Segment.objects.filter(organisation=request.user.organisation):
        try:
            count: int | None = _members(request, segment.definition).count()
        except SegmentError:
            count = None
        rows.append((segment, count))
    return render(request, "segments/list.html", {"rows": rows, "active_nav": "segments"})


@login_required
def segment_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _require_editor(request)
    segment = _get_segment(request, pk) if pk else None
    errors: list[str] = []
    if request.method == "POST":
        try:
            definition = json.loads(request.POST.get("definition") or "{}")
        except json.JSONDecodeError:
            definition = None
            errors.append(_("The conditions could not be read."))
        if definition is not None:
            try:
                saved = actions.do_save_segment(
                    organisation=request.user.organisation,
                    actor=request.user,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    definition=definition,
                    segment=segment,
                )
            except ValidationError as exc:
                errors.extend(m for msgs in exc.message_dict.values() for m in msgs)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("segments:detail", saved.pk)
    definition_text = request.POST.get("definition") or json.dumps(
        segment.definition if segment else empty_definition(), ensure_ascii=False
    )
    ctx = {
        "segment": segment,
        "errors": errors,
        "definition": definition_text,
        "name": request.POST.get("name", segment.name if segment else ""),
        "description": request.POST.get("description", segment.description if segment else ""),
        "fields_json": json.dumps(
            _field_spec(request, _loads(definition_text)), ensure_ascii=False
        ),
        "ops_json": json.dumps({k: str(v) for k, v in OP_LABELS.items()}, ensure_ascii=False),
        "active_nav": "segments",
    }
    return render(request, "segments/edit.html", ctx)


@login_required
@require_POST
def segment_count(request: AuthedRequest) -> HttpResponse:
    """HTMX: the live count (within the user's scope) while the builder is edited."""
    try:
        definition = json.loads(request.POST.get("definition") or "{}")
        count = _members(request, definition).count()
    except json.JSONDecodeError:
        return render(
            request, "segments/_count.html", {"errors": [_("The conditions could not be read.")]}
        )
    except SegmentError as exc:
        return render(
            request,
            "segments/_count.html",
            {"errors": [m for _p, m in exc.errors]},
        )
    return render(request, "segments/_count.html", {"count": count})


@login_required
def segment_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    segment = _get_segment(request, pk)
    try:
        qs = list_rows(_members(request, segment.definition))
        error = None
    except SegmentError as exc:
        qs, error = Customer.objects.none(), "; ".join(m for _p, m in exc.errors)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    # The nightly sizes count the whole organisation's members: the owner's figures only. Others
    # see the members they may see (the list below), never a count of those they may not.
    snapshots = (
        list(segment.snapshots.order_by("-day")[:90])[::-1]
        if request.user.role == Role.OWNER
        else []
    )
    ctx = {
        "segment": segment,
        "page": page,
        "query": "",
        "error": error,
        "active_nav": "segments",
        "snapshots_json": json.dumps(
            {"days": [s.day.isoformat() for s in snapshots], "counts": [s.count for s in snapshots]}
        ),
        "can_edit": request.user.role in (Role.OWNER, Role.MANAGER),
        "conditions_text": describe_definition(segment.definition, request.user.organisation),
    }
    if request.htmx:
        return render(request, "customers/list.html#rows", ctx)
    return render(request, "segments/detail.html", ctx)


@login_required
@require_POST
def segment_duplicate(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    copy = actions.do_duplicate_segment(_get_segment(request, pk), actor=request.user)
    messages.success(request, _("Segment copied."))
    return redirect("segments:edit", copy.pk)


@login_required
@require_POST
def segment_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    actions.do_delete_segment(_get_segment(request, pk), actor=request.user, request=request)
    messages.success(request, _("Segment deleted."))
    return redirect("segments:list")
