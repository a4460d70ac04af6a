"""Saved segments (a versioned JSON filter) and their daily size."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.segments.compiler import empty_definition


class Segment(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="segments"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    definition = models.JSONField(_("conditions"), default=empty_definition)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="segment_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SegmentSnapshot(models.Model):
    """How many customers a segment held on a day (written by the nightly job)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="segment_snapshot_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.count}"
