"""Read-side helpers for the customer screens and the API: the one customer search, lookups.

Filtering customers by conditions is segments.compiler.compile_segment (the customer list and
its API are segments.customer_list).
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from huitouke.customers.models import Customer, CustomerQuerySet, OwnershipChange, Tag
from huitouke.customers.ownership import owner_change_reason_label
from huitouke.customers.phones import normalise_phone
from huitouke.customers.pinyin import looks_like_pinyin, search_key


def get_customer_for(request: HttpRequest, pk: int) -> Customer:
    """The customer `pk` if the signed-in user may see her, else 404 (never 403: no existence leak)."""
    try:
        return (
            Customer.objects.visible_to(request.user)
            .select_related("stats", "owner", "home_store")
            .get(pk=pk)
        )
    except Customer.DoesNotExist as exc:
        raise Http404 from exc


def moved_from(user: Any, pk: int) -> Customer | None:
    """Customer `pk` when she was `user`'s and has since been moved to someone `user` cannot
    see her through (handover, owner change, merge); None otherwise, so nothing else leaks."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return None
    was_hers = OwnershipChange.objects.filter(
        customer_id=pk, customer__organisation_id=user.organisation_id, from_owner_id=user.pk
    ).exists()
    if not was_hers:
        return None
    return (
        Customer.objects.filter(pk=pk, organisation_id=user.organisation_id)
        .select_related("owner", "merged_into__owner")
        .first()
    )


def customer_for_phone(user: Any, phone: str) -> Customer | None:
    """The customer with `phone` whom `user` may see, None when the organisation has none.

    The one phone lookup of the checkout: a customer of the organisation outside the user's
    scope is never used silently (her coupons, points and name stay hers). The error says she
    is someone else's and whom to ask, without her name.
    """
    found = (
        Customer.objects.active()
        .filter(organisation_id=user.organisation_id, phone=phone)
        .select_related("owner", "home_store")
        .first()
    )
    if found is None or Customer.objects.visible_to(user).filter(pk=found.pk).exists():
        return found
    keeper = found.owner or found.home_store
    raise ValidationError(
        {
            "phone": _(
                "This phone belongs to a customer who is not yours. Ask %(keeper)s to record "
                "the order, or to hand the customer over to you."
            )
            % {"keeper": keeper or _("the owner")}
        },
        code="not_yours",
    )


def search_q(text: str, organisation_id: int | None = None) -> Q:
    """Match a name (also by pinyin: zhanglimei, zlm, zhang li mei), a phone (full or partial
    digits), a WeChat id, a customer number or a tag.

    The one customer search: the customer list, the API's `q`, the quick-order lookup and the
    segment members' search all come here. Pinyin is a prefix of the stored keys
    (Customer.name_pinyin / name_initials), which the (organisation, key) indexes answer.
    """
    text = text.strip()
    if not text:
        return Q()
    digits = text.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 11:
        # A full number: normalise it and use the (organisation, phone) unique index.
        try:
            return Q(phone=normalise_phone(digits))
        except ValidationError:
            return Q(phone__contains=digits)
    if digits.isdigit() and len(digits) >= 4:
        return Q(phone__contains=digits) | Q(external_id=text)
    # The (organisation, external_id) unique index is partial (non-empty ids of unmerged
    # customers): SQLite uses it only when the query repeats its condition.
    exact = Q(wechat_id=text) | (Q(external_id=text, merged_into__isnull=True) & ~Q(external_id=""))
    tags = Tag.objects.filter(name=text)
    if organisation_id is not None:
        tags = tags.filter(organisation_id=organisation_id)
    tag_ids = list(tags.values_list("pk", flat=True)[:50])
    if tag_ids:
        # Only when such a tag exists: an OR with a subquery keeps PostgreSQL from combining the
        # name indexes (it scanned every customer of the organisation instead).
        tagged = Customer.tags.through.objects.filter(tag_id__in=tag_ids).values("customer_id")
        exact |= Q(pk__in=tagged)
    if looks_like_pinyin(text):
        # Latin letters: the pinyin keys (a Latin name's own letters are its "pinyin", so Anna
        # is found by "ann"); prefixes only, so the indexes answer instead of a scan of names.
        key = search_key(text)
        return _in_org(
            organisation_id, _prefix("name_pinyin", key), _prefix("name_initials", key), exact
        )
    return Q(name__icontains=text) | exact


def _prefix(field: str, key: str) -> Q:
    """`field` starts with `key`, in a form the database answers from an index on the field.

    PostgreSQL answers LIKE 'zlm%' from the varchar_pattern_ops index; SQLite never uses an
    index for LIKE on a column of the default (binary) collation, so there it is the range
    key <= field < key with its last character incremented (the keys are lower-case letters).
    """
    if connection.vendor != "sqlite" or not key:
        return Q(**{f"{field}__startswith": key})
    return Q(**{f"{field}__gte": key, f"{field}__lt": key[:-1] + chr(ord(key[-1]) + 1)})


def _in_org(organisation_id: int | None, *alternatives: Q) -> Q:
    """Alternatives OR-ed, each with the organisation repeated inside it when it is known: the
    planner then answers each from its own (organisation, …) index and unions the rows
    (SQLite's multi-index OR) instead of scanning the organisation's customers."""
    if organisation_id is None:
        return reduce(operator.or_, alternatives)
    return reduce(operator.or_, (Q(organisation_id=organisation_id) & q for q in alternatives))


def search_customers(user: Any, text: str) -> CustomerQuerySet:
    """The customers `user` may see that match the typed `text` (see search_q), newest first."""
    return Customer.objects.visible_to(user).filter(search_q(text, user.organisation_id))


def owner_history(customer: Customer, limit: int = 20) -> list[dict[str, Any]]:
    """Who looked after her, newest first (the 负责人历史 card): from, to, by whom, why, when."""

    rows = OwnershipChange.objects.filter(customer=customer).select_related(
        "from_owner", "to_owner", "changed_by"
    )[:limit]
    return [
        {
            "at": row.at,
            "from_owner": row.from_owner,
            "to_owner": row.to_owner,
            "changed_by": row.changed_by,
            "reason": owner_change_reason_label(row.reason),
        }
        for row in rows
    ]
