"""Segment definitions (versioned JSON) validated and compiled into one SQL filter.

    {"version": 1, "match": "all",
     "conditions": [{"field": "lifecycle", "op": "in", "value": ["silent"]},
                    {"match": "any", "conditions": [...]}]}

Everything compiles to a single `Q` over Customer (to-many conditions become EXISTS subqueries, so
no duplicates and no Python-side filtering). Conditions on a value a customer does not have (no
orders, no analytics row, no birthday) are false, except the negative operators (ne, not_in,
none, not_bought), which are true for her — the same rule Django's exclude() follows.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.accounts.scoping import ALL, customer_q
from huitouke.analytics.models import CustomerDue
from huitouke.customers.models import Customer, CustomField, FieldType
from huitouke.sales.models import OrderLine, OrderStatus
from huitouke.segments.fields import (
    CHOICE_OPS,
    CUSTOM_PREFIX,
    FIELDS,
    NUMBER_OPS,
    OP_LABELS,
    TEXT_OPS,
    FieldSpec,
)

VERSION = 1
ID_FIELDS = ("owner", "store", "due_category")  # choices that are ids of the organisation's rows
MAX_DEPTH = 4
MAX_CONDITIONS = 100


class SegmentError(ValueError):
    """A definition that cannot be compiled; `errors` lists (path, message) for each problem."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


@dataclass
class Context:
    organisation: Organisation
    as_of: date
    tz: zoneinfo.ZoneInfo
    custom_fields: dict[str, CustomField]

    def day_start(self, day: date) -> datetime:
        """The first instant of a local calendar day, as an aware datetime."""
        return datetime.combine(day, time.min, tzinfo=self.tz)


def field_errors(exc: SegmentError) -> dict[str, list[str]]:
    """The errors keyed by their path in the request body ("definition.conditions.0.value"):
    the API's errors[].field keeps the machine-readable path, the message names the field in
    words (a screen shows the message alone)."""
    out: dict[str, list[str]] = {}
    for path, message in exc.errors:
        out.setdefault(f"definition.{path}" if path else "definition", []).append(message)
    return out


def empty_definition() -> dict[str, Any]:
    return {"version": VERSION, "match": "all", "conditions": []}


def compile_segment(
    definition: Any, organisation: Organisation, as_of: date | None = None, *, scope: Any
) -> Q:
    """Validate `definition` and return the Q selecting its customers (raises SegmentError).

    `scope` is whose customers the result may reach: a user or a stored `Scope` (a rule's
    author), or `scoping.ALL` for the command line and organisation-wide jobs. It is required,
    so no caller can forget it.
    """
    if scope is not ALL and getattr(scope, "organisation_id", None) != organisation.pk:
        raise ValueError("compile_segment: the scope belongs to another organisation")
    tz = zoneinfo.ZoneInfo(organisation.time_zone)
    ctx = Context(
        organisation=organisation,
        as_of=as_of or datetime.now(tz).date(),
        tz=tz,
        custom_fields={f.key: f for f in CustomField.objects.filter(organisation=organisation)},
    )
    errors: list[tuple[str, str]] = []
    if not isinstance(definition, dict):
        raise SegmentError([("", _("A segment must be a JSON object."))])
    _check_text(definition)
    if definition.get("version", VERSION) != VERSION:
        errors.append(
            (
                "version",
                _("Unsupported version %(v)s (expected %(e)s).")
                % {"v": definition.get("version"), "e": VERSION},
            )
        )
    count = [0]
    q = _group(definition, ctx, "", 0, errors, count)
    if errors:
        raise SegmentError(errors)
    return q if scope is ALL else q & customer_q(scope)


def _check_text(definition: dict[str, Any]) -> None:
    # PostgreSQL cannot store NUL in text or JSON, and lone surrogates are not UTF-8: refuse them
    # here with a message instead of letting the database reject the query or the save.
    text = json.dumps(definition, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SegmentError(
            [("", _("The conditions contain characters that are not valid Unicode."))]
        ) from exc
    if "\x00" in text or "\\u0000" in text:
        raise SegmentError([("", _("The conditions contain a NUL character."))])


def segment_customers(
    definition: Any, organisation: Organisation, as_of: date | None = None, *, scope: Any
) -> Any:
    """The organisation's (unmerged) customers matching the definition, within `scope`."""
    q = compile_segment(definition, organisation, as_of, scope=scope)
    return Customer.objects.active().filter(organisation=organisation).filter(q)


def _group(
    node: dict[str, Any],
    ctx: Context,
    path: str,
    depth: int,
    errors: list[tuple[str, str]],
    count: list[int],
) -> Q:
    if depth > MAX_DEPTH:
        errors.append(
            (path, _("Groups are nested too deeply (at most %(n)s levels).") % {"n": MAX_DEPTH})
        )
        return Q()
    unknown = (
        set(node) - {"version", "match", "conditions"}
        if depth == 0
        else set(node) - {"match", "conditions"}
    )
    if unknown:
        errors.append(
            (path, _("Unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))})
        )
        return Q()
    match = node.get("match", "all")
    if match not in ("all", "any"):
        errors.append(
            (
                f"{path}match",
                _("Choose whether all or any of the conditions must hold (not “%(v)s”).")
                % {"v": match},
            )
        )
        return Q()
    conditions = node.get("conditions", [])
    if not isinstance(conditions, list):
        errors.append((f"{path}conditions", _("The conditions must be a list.")))
        return Q()
    parts: list[Q] = []
    for i, child in enumerate(conditions):
        child_path = f"{path}conditions[{i}]."
        count[0] += 1
        if count[0] > MAX_CONDITIONS:
            errors.append(
                (child_path, _("Too many conditions (at most %(n)s).") % {"n": MAX_CONDITIONS})
            )
            break
        if not isinstance(child, dict):
            errors.append((child_path, _("Each condition must be an object.")))
        elif "conditions" in child:
            parts.append(_group(child, ctx, child_path, depth + 1, errors, count))
        else:
            parts.append(_condition(child, ctx, child_path, errors))
    if not parts:
        # An empty "all" group matches everyone; an empty "any" group matches no one.
        return Q() if match == "all" else Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if match == "all" else combined | part
    return combined


def _condition(node: dict[str, Any], ctx: Context, path: str, errors: list[tuple[str, str]]) -> Q:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        errors.append(
            (path, _("Unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))})
        )
        return Q()
    name = node.get("field")
    op = node.get("op")
    value = node.get("value")
    if not isinstance(name, str):
        errors.append((f"{path}field", _("The field is missing.")))
        return Q()
    spec = _spec_for(name, ctx)
    if spec is None:
        errors.append((f"{path}field", _("Unknown field “%(f)s”.") % {"f": name}))
        return Q()
    if op not in spec.ops:
        errors.append(
            (
                f"{path}op",
                _("“%(op)s” does not apply to “%(f)s” (use one of: %(ops)s).")
                % {"op": _op(op), "f": _label(spec), "ops": _words(_op(o) for o in spec.ops)},
            )
        )
        return Q()
    try:
        return _build(spec, str(op), value, ctx)
    except (TypeError, ValueError, InvalidOperation) as exc:
        errors.append(
            (
                f"{path}value",
                str(exc) if str(exc) else _("Invalid value for “%(f)s”.") % {"f": _label(spec)},
            )
        )
        return Q()


def _label(spec: FieldSpec) -> str:
    """The field as people call it, in the caller's language (the API keeps the code in the
    error's path)."""
    return str(spec.label)


def _op(op: Any) -> str:
    return str(OP_LABELS.get(str(op), op))


def _words(items: Any) -> str:
    """A list in the active language: 是、不是 in Chinese, "is, is not" in English."""
    lang = get_language() or ""
    return ("、" if lang.startswith("zh") else ", ").join(items)


def _spec_for(name: str, ctx: Context) -> FieldSpec | None:
    if not name.startswith(CUSTOM_PREFIX):
        return FIELDS.get(name)
    cf = ctx.custom_fields.get(name[len(CUSTOM_PREFIX) :])
    if cf is None:
        return None
    path = f"custom__{cf.key}"
    if cf.type == FieldType.NUMBER:
        return FieldSpec(name, cf.label, "number", path, NUMBER_OPS)
    if cf.type == FieldType.DATE:
        return FieldSpec(
            name,
            cf.label,
            "custom_date",
            path,
            ("before", "after", "between", "is_empty", "is_not_empty"),
        )
    if cf.type == FieldType.CHOICE:
        return FieldSpec(
            name, cf.label, "choice", path, CHOICE_OPS, tuple((c, c) for c in cf.choices)
        )
    if cf.type == FieldType.MULTI:
        return FieldSpec(
            name, cf.label, "multi", path, ("any", "none"), tuple((c, c) for c in cf.choices)
        )
    return FieldSpec(name, cf.label, "text", path, TEXT_OPS)


# --- value parsing -----------------------------------------------------------------------------


def _number(value: Any, spec: FieldSpec) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(_("“%(f)s” needs a number, not %(v)r.") % {"f": _label(spec), "v": value})
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(
            _("“%(f)s” needs a number, not %(v)r.") % {"f": _label(spec), "v": value}
        ) from exc
    if not number.is_finite():
        raise ValueError(_("“%(f)s” needs a finite number.") % {"f": _label(spec)})
    if spec.integer and number != number.to_integral_value():
        raise ValueError(
            _("“%(f)s” needs a whole number, not %(v)s.") % {"f": _label(spec), "v": value}
        )
    return number


def _json_number(value: Any, spec: FieldSpec) -> int | float:
    # Values inside the JSON column compare as JSON numbers, which have no Decimal type.
    number = _number(value, spec)
    return int(number) if number == number.to_integral_value() else float(number)


def _pair(value: Any, spec: FieldSpec, parse: Any) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(
            _("For “%(f)s”, “%(op)s” needs two values: from and to.")
            % {"op": _op("between"), "f": _label(spec)}
        )
    lo, hi = parse(value[0], spec), parse(value[1], spec)
    if lo > hi:
        raise ValueError(
            _("For “%(f)s”, “%(op)s” needs the first value no greater than the second.")
            % {"op": _op("between"), "f": _label(spec)}
        )
    return lo, hi


def _date(value: Any, spec: FieldSpec) -> date:
    if not isinstance(value, str):
        raise ValueError(
            _("“%(f)s” needs a date like 2025-03-08, not %(v)r.") % {"f": _label(spec), "v": value}
        )
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            _("“%(f)s” needs a date like 2025-03-08, not %(v)r.") % {"f": _label(spec), "v": value}
        ) from exc


def _list(value: Any, spec: FieldSpec) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ValueError(_("“%(f)s” needs a non-empty list of values.") % {"f": _label(spec)})
    allowed = {c for c, _label in spec.choices}
    out = []
    for item in value:
        if spec.name in ID_FIELDS:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValueError(
                    _("“%(f)s” needs ids (whole numbers), not %(v)r.")
                    % {"f": _label(spec), "v": item}
                )
        elif not isinstance(item, str) or (allowed and item not in allowed):
            raise ValueError(
                _("“%(v)s” is not a value of “%(f)s” (choose from: %(c)s).")
                % {"v": item, "f": _label(spec), "c": _words(str(lab) for _c, lab in spec.choices)}
            )
        out.append(item)
    return out


# --- building Q --------------------------------------------------------------------------------


def _build(spec: FieldSpec, op: str, value: Any, ctx: Context) -> Q:
    path = spec.path
    if op == "is_empty":
        return _empty(spec)
    if op == "is_not_empty":
        return ~_empty(spec)
    if spec.type == "number":
        if spec.name == "days_since_last_order":
            return _days_since(op, value, spec, ctx)
        if spec.name == "age":
            return _age(op, value, spec, ctx)
        parse = _json_number if spec.name.startswith(CUSTOM_PREFIX) else _number
        if op == "ne":
            return _negate(_compare(path, "eq", value, spec, parse), path, ctx)
        return _compare(path, op, value, spec, parse)
    if spec.name == "due_category":
        # Due now (the nightly refresh's window is open), as "id IN (the due rows)": no join.
        due = CustomerDue.objects.filter(
            organisation=ctx.organisation, due_now=True, category_id__in=_list(value, spec)
        )
        due_q = Q(pk__in=due.values("customer_id"))
        return due_q if op == "in" else ~due_q
    if spec.type == "choice":
        items = _list(value, spec)
        q = Q(**{f"{path}__in": items})
        return q if op == "in" else _negate(q, path, ctx)
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(_("“%(f)s” needs true or false.") % {"f": _label(spec)})
        return Q(**{path: value})
    if spec.type == "text":
        if not isinstance(value, str):
            raise ValueError(_("“%(f)s” needs text.") % {"f": _label(spec)})
        lookup = {"eq": "", "ne": "", "contains": "__icontains", "startswith": "__istartswith"}[op]
        q = Q(**{f"{path}{lookup}": value})
        return _negate(q, path, ctx) if op == "ne" else q
    if spec.type == "date":
        return _dates(path, op, value, spec, ctx)
    if spec.type == "custom_date":
        return _compare(
            path,
            {"before": "lt", "after": "gt", "between": "between"}[op],
            value,
            spec,
            lambda v, s: _date(v, s).isoformat(),
        )
    if spec.type == "tags":
        # "id IN (customers carrying the tag)" starts from the tag's rows; a correlated EXISTS
        # probed every customer instead (6x slower than hand-written SQL at 1M customers).
        names = _tag_names(value, spec)
        tagged = Customer.tags.through.objects.filter(tag__organisation=ctx.organisation)
        if op == "all":
            q = Q()
            for name in names:
                q &= Q(pk__in=tagged.filter(tag__name=name).values("customer_id"))
            return q
        any_q = Q(pk__in=tagged.filter(tag__name__in=names).values("customer_id"))
        return any_q if op == "any" else ~any_q
    if spec.type == "multi":
        items = _list(value, spec)
        q = Q(pk__in=[])
        for item in items:
            # Multi-choice values are JSON lists; match the quoted item inside the list's text.
            q |= Q(**{f"{path}__icontains": f'"{item}"'})
        return q if op == "any" else _negate(q, path, ctx)
    if spec.type == "bought":
        return _bought(spec, op, value, ctx)
    raise ValueError(_("Unsupported field type."))


def _negate(q: Q, path: str, ctx: Context) -> Q:
    """ "Not q", true for a customer without the value (no analytics row, no such custom field).

    A plain `~q` across a relation is at the mercy of join promotion: inside some and/or
    mixtures the LEFT JOIN became an INNER one and customers without an analytics row dropped out
    of `rfm_segment not_in [...]`. "Not among the customers matching q" has no such corner.
    """
    if "__" not in path:
        return ~q  # a column of the customer's own row: Django adds the IS NULL case itself
    matching = Customer.objects.filter(organisation=ctx.organisation).filter(q)
    return ~Q(pk__in=matching.values("pk"))


def _empty(spec: FieldSpec) -> Q:
    if spec.type in ("text",):
        return Q(**{f"{spec.path}__isnull": True}) | Q(**{spec.path: ""})
    return Q(**{f"{spec.path}__isnull": True})


def _compare(path: str, op: str, value: Any, spec: FieldSpec, parse: Any) -> Q:
    if op == "between":
        lo, hi = _pair(value, spec, parse)
        return Q(**{f"{path}__gte": lo, f"{path}__lte": hi})
    v = parse(value, spec)
    if op == "eq":
        return Q(**{path: v})
    if op == "ne":
        return ~Q(**{path: v})
    return Q(**{f"{path}__{op}": v})


def _days_since(op: str, value: Any, spec: FieldSpec, ctx: Context) -> Q:
    # days since = T - local date of the last order; "d >= n" is "last order before the start of
    # day T-n+1", which keeps the (organisation, last_order_at) index usable.
    path = spec.path

    def at_least(n: int) -> Q:
        return Q(**{f"{path}__lt": ctx.day_start(ctx.as_of - timedelta(days=n - 1))})

    def at_most(n: int) -> Q:
        return Q(**{f"{path}__gte": ctx.day_start(ctx.as_of - timedelta(days=n))})

    if op == "between":
        lo, hi = _pair(value, spec, _number)
        return at_least(int(lo)) & at_most(int(hi))
    n = int(_number(value, spec))
    return {
        "eq": lambda: at_least(n) & at_most(n),
        "ne": lambda: ~(at_least(n) & at_most(n)),
        "gt": lambda: at_least(n + 1),
        "gte": lambda: at_least(n),
        "lt": lambda: at_most(n - 1),
        "lte": lambda: at_most(n),
    }[op]()


def _age(op: str, value: Any, spec: FieldSpec, ctx: Context) -> Q:
    # Age is "the age she turns this year": T.year - birth year (the year is optional on profiles).
    year = ctx.as_of.year
    if op == "between":
        lo, hi = _pair(value, spec, _number)
        return Q(birth_year__gte=year - int(hi), birth_year__lte=year - int(lo))
    n = int(_number(value, spec))
    flipped = {"eq": "eq", "ne": "ne", "gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}[op]
    return _compare("birth_year", flipped, year - n, spec, lambda v, s: v)


def _dates(path: str, op: str, value: Any, spec: FieldSpec, ctx: Context) -> Q:
    if op == "within_last_days":
        n = int(_number(value, FieldSpec(spec.name, spec.label, "number", integer=True)))
        if n < 1:
            raise ValueError(
                _("“%(f)s”: the number of days must be at least 1.") % {"f": _label(spec)}
            )
        return Q(
            **{
                f"{path}__gte": ctx.day_start(ctx.as_of - timedelta(days=n - 1)),
                f"{path}__lt": ctx.day_start(ctx.as_of + timedelta(days=1)),
            }
        )
    if op == "between":
        lo, hi = _pair(value, spec, _date)
        return Q(
            **{
                f"{path}__gte": ctx.day_start(lo),
                f"{path}__lt": ctx.day_start(hi + timedelta(days=1)),
            }
        )
    d = _date(value, spec)
    if op == "before":
        return Q(**{f"{path}__lt": ctx.day_start(d)})
    return Q(**{f"{path}__gte": ctx.day_start(d + timedelta(days=1))})  # after


def _tag_names(value: Any, spec: FieldSpec) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(_("“%(f)s” needs a non-empty list of tag names.") % {"f": _label(spec)})
    return value


def _bought(spec: FieldSpec, op: str, value: Any, ctx: Context) -> Q:
    if not isinstance(value, dict) or not isinstance(value.get("ids"), list) or not value["ids"]:
        raise ValueError(
            _("“%(f)s” needs the products or categories chosen, and may say within how many days.")
            % {"f": _label(spec)}
        )
    ids = value["ids"]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError(_("“%(f)s” needs ids (whole numbers).") % {"f": _label(spec)})
    lines = OrderLine.objects.filter(
        order__organisation=ctx.organisation,
        order__status=OrderStatus.PAID,
        order__placed_at__lt=ctx.day_start(ctx.as_of + timedelta(days=1)),
        **{f"{spec.path}__in": ids},
    )
    within = value.get("within_days")
    if within is not None:
        n = int(_number(within, FieldSpec("within_days", "", "number", integer=True)))
        if n < 1:
            raise ValueError(_("The number of days must be at least 1."))
        lines = lines.filter(order__placed_at__gte=ctx.day_start(ctx.as_of - timedelta(days=n - 1)))
    bought = Q(pk__in=lines.values("order__customer_id"))
    return bought if op == "bought" else ~bought
