"""Duplicates: finding likely pairs, and merging one customer into another (her interactions,
family and tags move here; every other app moves its rows on customers.events.customers_merged)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.core.locks import lock_customer_stats
from huitouke.customers import events
from huitouke.customers.models import (
    Customer,
)
from huitouke.customers.ownership import OwnerChangeReason, do_change_owner


def do_merge_customers(
    *, keep: Customer, duplicate: Customer, actor: Any, request: Any = None
) -> Customer:
    """Merge `duplicate` into `keep`: orders, interactions, tags, family and history move; audited.

    Each app moves what it keeps for the duplicate in its customers_merged receiver, inside this
    transaction: sales her orders (and both customers' stats), loyalty her points and coupons,
    follow-ups her tasks, WeCom her WeChat links, integrations the feed's tombstone.
    """
    if keep.pk == duplicate.pk:
        raise ValidationError(_("A customer cannot be merged with herself."))
    if keep.organisation_id != duplicate.organisation_id:
        raise ValidationError(_("These customers belong to different organisations."))
    with transaction.atomic():
        # Lock in primary-key order so two merges touching the same pair cannot deadlock.
        for c in sorted((keep, duplicate), key=lambda c: c.pk):
            lock_customer_stats(c.pk, c.organisation_id)
        gone = Customer.objects.filter(pk__in=[keep.pk, duplicate.pk]).filter(
            Q(merged_into__isnull=False) | Q(erased_at__isnull=False)
        )
        if gone.exists():
            # Read under the lock: an erased or already merged customer takes no one in.
            raise ValidationError(_("An erased or already merged customer cannot be merged."))
        moved_orders = duplicate.orders.count()  # the stats lock keeps new ones out
        duplicate.interactions.update(customer=keep)
        duplicate.family.update(customer=keep)
        duplicate.ownership_changes.update(customer=keep)
        duplicate.referrals.exclude(pk=keep.pk).update(referrer=keep)
        keep.tags.add(*duplicate.tags.all())
        events.customers_merged.send(sender=Customer, keep=keep, duplicate=duplicate)
        # Fill the kept profile's blanks from the duplicate; never overwrite what is there.
        for field in ("wechat_id", "email", "city", "address", "ethnicity", "notes", "external_id"):
            if not getattr(keep, field) and getattr(duplicate, field):
                setattr(keep, field, getattr(duplicate, field))
                if field == "external_id":
                    duplicate.external_id = ""
        for field in (
            "birth_year",
            "birth_month",
            "birth_day",
            "city_tier",
            "budget",
            "home_store_id",
        ):
            if getattr(keep, field) is None and getattr(duplicate, field) is not None:
                setattr(keep, field, getattr(duplicate, field))
        if keep.owner_id is None and duplicate.owner_id is not None:
            # The kept customer takes the duplicate's 负责人, recorded like every owner change.
            do_change_owner(
                keep,
                duplicate.owner,
                actor=actor,
                reason=OwnerChangeReason.MERGE,
                request=request,
            )
        keep.custom = {**duplicate.custom, **keep.custom}
        dup_phone = duplicate.phone
        duplicate.phone = None
        duplicate.merged_into = keep
        duplicate.save()
        if not keep.phone and dup_phone:
            keep.phone = dup_phone
        keep.save()
        record_audit(
            actor=actor,
            organisation=keep.organisation,
            action="merge",
            target=keep,
            request=request,
            detail={
                "merged": duplicate.pk,
                "merged_name": duplicate.name,
                "orders_moved": moved_orders,
            },
        )
    return keep


def possible_duplicates(organisation: Organisation) -> list[tuple[Customer, Customer, str]]:
    """Pairs that look like one person: same phone, same WeChat id, or same name in the same city."""

    pairs: list[tuple[Customer, Customer, str]] = []
    base = Customer.objects.active().filter(organisation=organisation)
    for field, reason in (("wechat_id", "wechat"), ("phone", "phone")):
        dupes = (
            base.exclude(**{field: ""})
            .exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list(field, flat=True)[:200]
        )
        for value in dupes:
            group = list(base.filter(**{field: value}).order_by("pk")[:5])
            pairs.extend((group[0], other, reason) for other in group[1:])
    name_city = (
        base.exclude(city="").values("name", "city").annotate(n=Count("id")).filter(n__gt=1)[:200]
    )
    for row in name_city:
        group = list(base.filter(name=row["name"], city=row["city"]).order_by("pk")[:5])
        pairs.extend((group[0], other, "name_city") for other in group[1:])
    seen: set[tuple[int, int]] = set()
    unique = []
    for a, b, reason in pairs:
        if (a.pk, b.pk) not in seen:
            seen.add((a.pk, b.pk))
            unique.append((a, b, reason))
    return unique
