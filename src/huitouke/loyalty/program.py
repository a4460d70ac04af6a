"""The organisation's membership program: its rules and tiers, and each member's tier.

A member's tier is the highest one whose threshold her net spend over the trailing 12 months
reaches (the same window as CustomerStats.spend_12m). It is re-evaluated after every order and
refund (sales hooks), after imports, nightly as spend leaves the window, and when the tiers change;
every change is kept in TierChange.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.audit.actions import record_audit
from huitouke.core.bulk import FastTable
from huitouke.core.tasks import enqueue_on_commit
from huitouke.customers.models import Customer
from huitouke.loyalty import events
from huitouke.loyalty.models import (
    ZERO,
    CouponTemplate,
    LoyaltyAccount,
    LoyaltySettings,
    Tier,
    TierChange,
)
from huitouke.sales.models import Order
from huitouke.sales.stats import stats_aggregates


def default_tiers() -> list[tuple[str, Decimal, Decimal, Decimal, tuple[bool, bool, bool]]]:
    """(name, 12-month spend threshold, price rate, points multiplier, (delivery, priority, gift))."""
    return [
        (_("Regular"), Decimal("0"), Decimal("1"), Decimal("1"), (False, False, False)),
        (_("Silver"), Decimal("300"), Decimal("0.95"), Decimal("1.2"), (False, False, True)),
        (_("Gold"), Decimal("1000"), Decimal("0.88"), Decimal("1.5"), (True, False, True)),
        (_("Diamond"), Decimal("5000"), Decimal("0.85"), Decimal("2"), (True, True, True)),
    ]


def ensure_program(organisation: Organisation | int) -> LoyaltySettings:
    """The organisation's rules; the first call creates the defaults and the default tiers."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    # Every order reads the rules: one plain SELECT when they exist (they nearly always do).
    existing = LoyaltySettings.objects.filter(organisation_id=org_id).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        rules, created = LoyaltySettings.objects.get_or_create(organisation_id=org_id)
        if created and not Tier.objects.filter(organisation_id=org_id).exists():
            Tier.objects.bulk_create(
                Tier(
                    organisation_id=org_id,
                    name=name,
                    threshold=threshold,
                    price_rate=rate,
                    points_multiplier=multiplier,
                    free_delivery=perks[0],
                    priority_service=perks[1],
                    birthday_gift=perks[2],
                )
                for name, threshold, rate, multiplier, perks in default_tiers()
            )
    return rules


def do_update_program(
    rules: LoyaltySettings,
    *,
    tiers: Iterable[Tier] = (),
    deleted: Iterable[Tier] = (),
    actor: Any,
    request: Any = None,
) -> LoyaltySettings:
    """Save the organisation's rules and tiers; members' tiers follow in a background job."""

    deleted = list(deleted)
    with transaction.atomic():
        rules.full_clean()
        rules.save()
        for tier in deleted:
            if CouponTemplate.objects.filter(min_tier=tier).exists():
                raise ValidationError(
                    _(
                        "The tier “%(name)s” is the minimum tier of a coupon; change the coupon first."
                    )
                    % {"name": tier.name}
                )
            tier.delete()
        for tier in tiers:
            tier.organisation_id = rules.organisation_id
            tier.full_clean(
                exclude=["organisation"], validate_unique=False, validate_constraints=False
            )
            try:
                with transaction.atomic():
                    tier.save()
            except IntegrityError as exc:
                # Swapping two tiers' thresholds or names in one save passes through a clash.
                raise ValidationError(
                    _(
                        "Another tier already has the name “%(name)s” or the threshold ¥%(threshold)s; change one tier at a time."
                    )
                    % {"name": tier.name, "threshold": tier.threshold}
                ) from exc
        record_audit(
            actor=actor,
            organisation=rules.organisation,
            action="loyalty_settings",
            target=None,
            request=request,
            detail={
                "tiers": sorted(
                    (str(t.threshold), t.name)
                    for t in Tier.objects.filter(organisation_id=rules.organisation_id)
                )
            },
        )
        enqueue_on_commit(
            "huitouke.loyalty.tasks.reevaluate_organisation_tiers", rules.organisation_id
        )
    return rules


def tier_for(tiers: list[Tier], spend: Decimal) -> Tier | None:
    """The highest tier whose threshold the trailing-12-month spend reaches (tiers in any order)."""
    reached = [t for t in tiers if t.threshold <= spend]
    return max(reached, key=lambda t: t.threshold) if reached else None


def trailing_spend(customer_id: int, now: datetime) -> Decimal:
    """Net spend of her counted orders in the 12 months before `now` (as CustomerStats.spend_12m)."""
    expression = stats_aggregates(now)["spend_12m"]
    return (
        Order.objects.counted().filter(customer_id=customer_id).aggregate(spend=expression)["spend"]
    )


def evaluate_tier(
    customer_id: int,
    organisation_id: int,
    *,
    reason: str,
    now: datetime | None = None,
    tiers: list[Tier] | None = None,
) -> TierChange | None:
    """Move the customer to the tier her trailing spend earns; record the change, if any.

    `tiers` are the organisation's tiers, when the caller has read them already.
    """
    now = now or timezone.now()
    if tiers is None:
        tiers = list(Tier.objects.filter(organisation_id=organisation_id))
    spend = trailing_spend(customer_id, now)
    target = tier_for(tiers, spend)
    for _attempt in range(3):
        account, _created = LoyaltyAccount.objects.get_or_create(
            customer_id=customer_id, defaults={"organisation_id": organisation_id}
        )
        if account.tier_id == (target.pk if target else None):
            return None
        # Conditional on the tier we read, so two evaluations never both record the same change.
        if LoyaltyAccount.objects.filter(
            Q(pk=customer_id),
            Q(tier_id=account.tier_id) if account.tier_id else Q(tier__isnull=True),
        ).update(tier=target, tier_since=now):
            previous = next((t for t in tiers if t.pk == account.tier_id), None)
            change = TierChange.objects.create(
                customer_id=customer_id,
                from_tier=previous,
                to_tier=target,
                from_name=previous.name if previous else "",
                to_name=target.name if target else "",
                spend_12m=spend,
                reason=reason,
                at=now,
            )
            events.tier_changed.send(sender=TierChange, change=change)
            return change
    return None


# Customers per aggregate: on SQLite each chunk's query reads all the organisation's orders
# (through its organisation index), so fewer, larger chunks read them fewer times.
REEVALUATE_CHUNK = 100_000


def reevaluate_tiers_of(
    organisation_id: int, *, now: datetime, reason: str, customer_ids: Iterable[int] | None = None
) -> int:
    """Re-evaluate the organisation's members (or those listed), in customer-id chunks; the number changed."""
    ensure_program(organisation_id)
    tiers = list(Tier.objects.filter(organisation_id=organisation_id))
    if customer_ids is None:
        ids = Customer.objects.filter(organisation_id=organisation_id, merged_into__isnull=True)
        wanted = list(ids.order_by("pk").values_list("pk", flat=True))
    else:
        wanted = sorted(set(customer_ids))
    changes = 0
    for start in range(0, len(wanted), REEVALUATE_CHUNK):
        chunk = wanted[start : start + REEVALUATE_CHUNK]
        low, high = chunk[0], chunk[-1]
        # One aggregate per chunk finds who needs a change; only those are evaluated one by one.
        spend_of = dict(
            Order.objects.counted()
            .filter(organisation_id=organisation_id, customer_id__gte=low, customer_id__lte=high)
            .values("customer_id")
            .annotate(spend=stats_aggregates(now)["spend_12m"])
            .values_list("customer_id", "spend")
        )
        held = dict(
            LoyaltyAccount.objects.filter(
                organisation_id=organisation_id, pk__gte=low, pk__lte=high
            ).values_list("customer_id", "tier_id")
        )
        moves: list[tuple[int, Tier | None]] = []
        for customer_id in chunk:
            target = tier_for(tiers, spend_of.get(customer_id, ZERO))
            if customer_id not in spend_of and customer_id not in held:
                continue  # no orders and no account: nothing to hold yet
            if held.get(customer_id, -1) != (target.pk if target else None):
                moves.append((customer_id, target))
        if reason == "import":
            # Imported history moves tiers in bulk and fires no tier-changed hooks: automations
            # must not greet a customer for a "promotion" that happened years ago.
            changes += _bulk_move(organisation_id, moves, held, spend_of, tiers, now)
            continue
        for customer_id, _target in moves:
            with transaction.atomic():
                changes += (
                    evaluate_tier(customer_id, organisation_id, reason=reason, now=now) is not None
                )
    return changes


def _tier_name(by_pk: dict[int, Tier], pk: int | None) -> str:
    tier = by_pk.get(pk) if pk is not None else None
    return tier.name if tier else ""


def _bulk_move(
    organisation_id: int,
    moves: list[tuple[int, Tier | None]],
    held: Mapping[int, int | None],
    spend_of: Mapping[int, Decimal],
    tiers: list[Tier],
    now: datetime,
) -> int:
    """Set the tiers of many customers at once (imports), recording each change."""
    if not moves:
        return 0
    by_pk = {t.pk: t for t in tiers}
    # Plain multi-row statements: an import of 100k customers moves 100k tiers, and building
    # model instances for bulk_create would cost more than the writes themselves.
    with transaction.atomic():
        # One upsert creates the missing accounts with their tier and moves the existing ones;
        # on a conflict only the tier changes, so points and debt stay as they are.
        accounts = FastTable(LoyaltyAccount, now)
        since = accounts.adapter("tier_since")(now)  # the same for every row: adapted once
        accounts.upsert(
            ("customer_id", "organisation_id", "tier_id", "tier_since"),
            [(cid, organisation_id, target.pk if target else None, since) for cid, target in moves],
            "customer_id",
            ("tier_id", "tier_since"),
            prepared=("tier_since",),
        )
        changes = FastTable(TierChange, now)
        at = changes.adapter("at")(now)
        changes.insert_tuples(
            (
                "customer_id",
                "from_tier_id",
                "to_tier_id",
                "from_name",
                "to_name",
                "spend_12m",
                "reason",
                "at",
            ),
            [
                (
                    cid,
                    held.get(cid),
                    target.pk if target else None,
                    _tier_name(by_pk, held.get(cid)),
                    target.name if target else "",
                    spend_of.get(cid, ZERO),
                    "import",
                    at,
                )
                for cid, target in moves
            ],
            prepared=("at",),
        )
    return len(moves)


def do_reevaluate_tiers(
    *, now: datetime | None = None, organisation: Organisation | None = None
) -> int:
    """Re-evaluate every member's tier as spend leaves the 12-month window (the nightly job)."""
    now = now or timezone.now()
    orgs = (
        Organisation.objects.filter(pk=organisation.pk)
        if organisation
        else Organisation.objects.all()
    )
    return sum(
        reevaluate_tiers_of(org_id, now=now, reason="nightly")
        for org_id in orgs.values_list("pk", flat=True)
    )
