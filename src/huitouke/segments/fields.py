"""The fields a segment can filter on, with their types, operators and database paths.

One registry serves the compiler, the validator, the segment builder UI and the API schema, so
they can never disagree about what "days since last order" means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.analytics.models import Lifecycle, RfmSegment, ValueClass
from huitouke.customers.models import Gender, Source

# Each operator as the builder shows it: words, never the code (是 / 不是 / 至少 / 介于 …).
OP_LABELS: dict[str, Any] = {
    "eq": pgettext_lazy("segment operator", "equals"),
    "ne": pgettext_lazy("segment operator", "does not equal"),
    "gt": pgettext_lazy("segment operator", "more than"),
    "gte": pgettext_lazy("segment operator", "at least"),
    "lt": pgettext_lazy("segment operator", "less than"),
    "lte": pgettext_lazy("segment operator", "at most"),
    "between": pgettext_lazy("segment operator", "between"),
    "is_empty": pgettext_lazy("segment operator", "is empty"),
    "is_not_empty": pgettext_lazy("segment operator", "is not empty"),
    "in": pgettext_lazy("segment operator", "is"),
    "not_in": pgettext_lazy("segment operator", "is not"),
    "is": pgettext_lazy("segment operator", "is"),
    "contains": pgettext_lazy("segment operator", "contains"),
    "startswith": pgettext_lazy("segment operator", "starts with"),
    "any": pgettext_lazy("segment operator", "has any of"),
    "all": pgettext_lazy("segment operator", "has all of"),
    "none": pgettext_lazy("segment operator", "has none of"),
    "before": pgettext_lazy("segment operator", "before"),
    "after": pgettext_lazy("segment operator", "after"),
    "within_last_days": pgettext_lazy("segment operator", "within the last (days)"),
    "bought": pgettext_lazy("segment operator", "bought"),
    "not_bought": pgettext_lazy("segment operator", "did not buy"),
}

NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty")
CHOICE_OPS = ("in", "not_in", "is_empty", "is_not_empty")
BOOL_OPS = ("is",)
TEXT_OPS = ("eq", "ne", "contains", "startswith", "is_empty", "is_not_empty")
TAG_OPS = ("any", "all", "none")
DATE_OPS = ("before", "after", "between", "within_last_days", "is_empty", "is_not_empty")
BOUGHT_OPS = ("bought", "not_bought")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Any
    type: str  # number | choice | bool | text | tags | date | bought
    path: str = ""
    ops: tuple[str, ...] = ()
    choices: tuple[tuple[str, Any], ...] = field(default=())
    integer: bool = False


def _choices(enum: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(value), label) for value, label in enum.choices)


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in [
        FieldSpec(
            "lifecycle",
            _("Lifecycle"),
            "choice",
            "analytics__lifecycle",
            CHOICE_OPS,
            _choices(Lifecycle),
        ),
        FieldSpec(
            "reactivated", _("Came back (reactivated)"), "bool", "analytics__reactivated", BOOL_OPS
        ),
        FieldSpec(
            "rfm_segment",
            _("RFM segment"),
            "choice",
            "analytics__rfm_segment",
            CHOICE_OPS,
            _choices(RfmSegment),
        ),
        FieldSpec(
            "r_score", _("R score"), "number", "analytics__r_score", NUMBER_OPS, integer=True
        ),
        FieldSpec(
            "f_score", _("F score"), "number", "analytics__f_score", NUMBER_OPS, integer=True
        ),
        FieldSpec(
            "m_score", _("M score"), "number", "analytics__m_score", NUMBER_OPS, integer=True
        ),
        FieldSpec(
            "value_class",
            _("Value class"),
            "choice",
            "analytics__value_class",
            CHOICE_OPS,
            _choices(ValueClass),
        ),
        FieldSpec("p_alive", _("P(alive)"), "number", "analytics__p_alive", NUMBER_OPS),
        FieldSpec(
            "predicted_clv",
            _("Predicted 12-month value"),
            "number",
            "analytics__predicted_clv",
            NUMBER_OPS,
        ),
        FieldSpec(
            "days_since_last_order",
            _("Days since last order"),
            "number",
            "stats__last_order_at",
            NUMBER_OPS,
            integer=True,
        ),
        FieldSpec(
            "orders_count", _("Orders"), "number", "stats__orders_count", NUMBER_OPS, integer=True
        ),
        FieldSpec("net_spend", _("Net spend"), "number", "stats__net_spend", NUMBER_OPS),
        FieldSpec(
            "avg_order_value",
            _("Average order value"),
            "number",
            "stats__avg_order_value",
            NUMBER_OPS,
        ),
        FieldSpec(
            "spend_12m", _("Spend, last 12 months"), "number", "stats__spend_12m", NUMBER_OPS
        ),
        FieldSpec("first_order_at", _("First order"), "date", "stats__first_order_at", DATE_OPS),
        FieldSpec("last_order_at", _("Last order"), "date", "stats__last_order_at", DATE_OPS),
        FieldSpec("tags", _("Tags"), "tags", "tags", TAG_OPS),
        FieldSpec("bought_category", _("Bought in category"), "bought", "category_id", BOUGHT_OPS),
        FieldSpec("bought_product", _("Bought product"), "bought", "product_id", BOUGHT_OPS),
        FieldSpec("source", _("Source"), "choice", "source", CHOICE_OPS, _choices(Source)),
        FieldSpec("gender", _("Gender"), "choice", "gender", CHOICE_OPS, _choices(Gender)),
        FieldSpec("city", _("City"), "text", "city", TEXT_OPS),
        FieldSpec("city_tier", _("City tier"), "number", "city_tier", NUMBER_OPS, integer=True),
        FieldSpec("age", _("Age"), "number", "birth_year", NUMBER_OPS, integer=True),
        FieldSpec(
            "birthday_month", _("Birthday month"), "number", "birth_month", NUMBER_OPS, integer=True
        ),
        FieldSpec(
            "due_category",
            _("Due to rebuy"),
            "choice",
            "repurchase_due__category_id",
            ("in", "not_in"),
        ),
        FieldSpec("owner", _("Owner (staff)"), "choice", "owner_id", CHOICE_OPS),
        FieldSpec("store", _("Home store"), "choice", "home_store_id", CHOICE_OPS),
        FieldSpec("consent_sms", _("Accepts SMS"), "bool", "consent_sms", BOOL_OPS),
        FieldSpec("consent_email", _("Accepts email"), "bool", "consent_email", BOOL_OPS),
        FieldSpec("consent_wechat", _("Accepts WeChat"), "bool", "consent_wechat", BOOL_OPS),
        FieldSpec("created_at", _("Customer since"), "date", "created_at", DATE_OPS),
    ]
}

CUSTOM_PREFIX = "custom."
