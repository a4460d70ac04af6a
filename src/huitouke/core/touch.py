"""`updated_at` kept current by queryset updates too, so change feeds see every change."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

_M = TypeVar("_M", bound=models.Model)


class TouchingQuerySet(models.QuerySet[_M]):
    """`.update(...)` also sets `updated_at` (auto_now only acts on save())."""

    def update(self, **kwargs: Any) -> int:
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)
