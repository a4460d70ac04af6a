"""A segment's conditions as people read them: field, operator and value in words.

Ids of the organisation's rows (a store, a staff member, a category, a product) read as their
names, choices as their labels, so no code or id reaches a screen. The builder takes its choice
lists from `id_choices`, the segment page its summary from `describe_definition`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huitouke.accounts.models import Organisation, Store, User
from huitouke.accounts.scoping import staff_q
from huitouke.customers.models import CustomField
from huitouke.sales.models import Category, Product
from huitouke.segments.fields import CUSTOM_PREFIX, FIELDS, OP_LABELS, FieldSpec

# Fields whose values are ids of the organisation's rows, and the rows they name.
ID_CHOICE_FIELDS = ("owner", "store", "due_category", "bought_category", "bought_product")
MAX_PRODUCTS = 500  # beyond this the builder keeps a text box for product ids


def _rows(organisation: Organisation, name: str, user: Any = None) -> list[tuple[int, str]]:
    if name == "owner":
        users = User.objects.filter(organisation=organisation)
        if user is not None:
            users = users.filter(staff_q(user), is_active=True)
        return [(u.pk, str(u)) for u in users.order_by("username")]
    if name == "store":
        return list(Store.objects.filter(organisation=organisation).values_list("pk", "name"))
    if name in ("due_category", "bought_category"):
        return list(
            Category.objects.filter(organisation=organisation)
            .order_by("name")
            .values_list("pk", "name")
        )
    if name == "bought_product":
        products = Product.objects.filter(organisation=organisation).order_by("name")
        if user is not None:
            products = products[: MAX_PRODUCTS + 1]
        return list(products.values_list("pk", "name"))
    return []


def id_choices(organisation: Organisation, user: Any) -> dict[str, list[tuple[int, str]]]:
    """The builder's choice list of each id field (the staff this user may pick, every store,
    category and product); a list of products longer than MAX_PRODUCTS is left out."""
    out = {name: _rows(organisation, name, user) for name in ID_CHOICE_FIELDS}
    if len(out["bought_product"]) > MAX_PRODUCTS:
        del out["bought_product"]
    return out


def _join(items: list[str]) -> str:
    return pgettext("list separator", ", ").join(items)


class _Names:
    """Names of the organisation's rows by field, read once per field."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self._cache: dict[str, dict[int, str]] = {}

    def get(self, field: str, pk: Any) -> str:
        if field not in self._cache:
            self._cache[field] = dict(_rows(self.organisation, field))
        name = self._cache[field].get(pk) if isinstance(pk, int) else None
        # A row deleted since: say so instead of showing its id.
        return name if name is not None else _("(deleted)")


def _value_text(spec_name: str, spec: Any, op: str, value: Any, names: _Names) -> str:
    if op in ("is_empty", "is_not_empty"):
        return ""
    if spec.type == "bool":
        return _("yes") if value else _("no")
    if spec_name in ID_CHOICE_FIELDS:
        ids = value.get("ids", []) if isinstance(value, dict) else value
        text = _join([names.get(spec_name, pk) for pk in (ids if isinstance(ids, list) else [])])
        if isinstance(value, dict) and value.get("within_days"):
            text += " " + _("in the last %(n)s days") % {"n": value["within_days"]}
        return text
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return _("%(from)s to %(to)s") % {"from": value[0], "to": value[1]}
    if op == "within_last_days":
        return _("%(n)s days") % {"n": value}
    labels = {str(code): str(label) for code, label in spec.choices}
    if isinstance(value, list):
        return _join([labels.get(str(v), str(v)) for v in value])
    return labels.get(str(value), str(value))


def _condition_text(node: dict[str, Any], names: _Names, custom: dict[str, CustomField]) -> str:
    name = str(node.get("field", ""))
    op = str(node.get("op", ""))
    if name.startswith(CUSTOM_PREFIX):
        cf = custom.get(name[len(CUSTOM_PREFIX) :])
        if cf is None:
            return _("(deleted field)")
        label = cf.label
        spec: Any = FieldSpec(name, label, str(cf.type), choices=tuple((c, c) for c in cf.choices))
    else:
        spec = FIELDS.get(name)
        if spec is None:
            return _("(unknown condition)")
        label = str(spec.label)
    if spec.type == "bool":
        # "Accepts SMS: yes", not "Accepts SMS is yes".
        return _("%(field)s: %(value)s") % {
            "field": label,
            "value": _("yes") if node.get("value") else _("no"),
        }
    words = [label, str(OP_LABELS.get(op, op))]
    value = _value_text(name, spec, op, node.get("value"), names)
    if value:
        words.append(value)
    return " ".join(words)


def _group_text(node: dict[str, Any], names: _Names, custom: dict[str, CustomField]) -> str:
    parts = []
    for child in node.get("conditions") or []:
        if not isinstance(child, dict):
            continue
        if "conditions" in child:
            parts.append(_("(%(conditions)s)") % {"conditions": _group_text(child, names, custom)})
        else:
            parts.append(_condition_text(child, names, custom))
    if not parts:
        return _("every customer") if node.get("match", "all") == "all" else _("no one")
    joiner = _(" and ") if node.get("match", "all") == "all" else _(" or ")
    return joiner.join(parts)


def describe_definition(definition: Any, organisation: Organisation) -> str:
    """The whole definition in one line of words ("门店 是 万达店 且 订单数 至少 3")."""
    if not isinstance(definition, dict):
        return ""
    custom = {f.key: f for f in CustomField.objects.filter(organisation=organisation)}
    return _group_text(definition, _Names(organisation), custom)
