"""Writes to segments: save (validated), duplicate, delete, daily snapshots."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from huitouke.accounts.models import Organisation
from huitouke.accounts.scoping import ALL
from huitouke.audit.actions import record_audit
from huitouke.segments.compiler import (
    SegmentError,
    compile_segment,
    field_errors,
    segment_customers,
)
from huitouke.segments.models import Segment, SegmentSnapshot


def do_save_segment(
    *,
    organisation: Organisation,
    actor: Any,
    name: str,
    definition: Any,
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    """Create or update a segment after checking that its definition compiles."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the segment a name.")})
    try:
        compile_segment(definition, organisation, scope=ALL)  # checked only
    except SegmentError as exc:
        raise ValidationError(field_errors(exc)) from exc
    segment = segment or Segment(
        organisation=organisation, created_by=actor if getattr(actor, "pk", None) else None
    )
    segment.name = name[:100]
    segment.description = (description or "")[:300]
    segment.definition = definition
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"name": _("A segment called “%(name)s” already exists.") % {"name": name}}
        ) from exc
    return segment


def do_duplicate_segment(segment: Segment, *, actor: Any) -> Segment:
    """Copy a segment under the first free name “<name> (2)”, “<name> (3)”…"""
    n = 2
    while Segment.objects.filter(
        organisation_id=segment.organisation_id, name=f"{segment.name} ({n})"
    ).exists():
        n += 1
    return do_save_segment(
        organisation=segment.organisation,
        actor=actor,
        name=f"{segment.name} ({n})",
        definition=segment.definition,
        description=segment.description,
    )


def do_delete_segment(segment: Segment, *, actor: Any, request: Any = None) -> None:
    """Delete a segment and its snapshots (an automation using it refuses); audited with it."""
    with transaction.atomic():
        record_audit(
            actor=actor,
            organisation=segment.organisation,
            action="segment_delete",
            target=segment,
            request=request,
            detail={"name": segment.name},
        )
        segment.delete()


def snapshot_segments(organisation: Organisation, day: date) -> int:
    """Record today's size of every segment (idempotent: one row per segment and day)."""
    written = 0
    for segment in Segment.objects.filter(organisation=organisation):
        try:
            count = segment_customers(segment.definition, organisation, day, scope=ALL).count()
        except SegmentError:
            continue  # a segment broken by a deleted custom field is shown as such, not counted
        SegmentSnapshot.objects.update_or_create(
            segment=segment, day=day, defaults={"count": count}
        )
        written += 1
    return written
