"""Writes of the analytics app: adopting a learned repurchase cycle."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from huitouke.audit.actions import record_audit
from huitouke.sales.models import Category


def do_adopt_learned_cycle(
    category: Category, *, actor: Any, request: HttpRequest | None = None
) -> Category:
    """Set a category's configured repurchase cycle to its learned median; audited."""
    with transaction.atomic():
        fresh = Category.objects.select_for_update().get(pk=category.pk)
        learned = fresh.learned_cycle_days
        if not learned:
            raise ValidationError(_("“%(name)s” has no learned cycle yet.") % {"name": fresh.name})
        before = fresh.cycle_days
        fresh.cycle_days = learned
        fresh.save(update_fields=["cycle_days"])
        record_audit(
            actor=actor,
            organisation=fresh.organisation,
            action="settings",
            target=fresh,
            request=request,
            detail={"field": "cycle_days", "from": before, "to": learned, "source": "learned"},
        )
    return fresh
