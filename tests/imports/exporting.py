"""Exporting through the screen as a user does: ask, let the worker write it, download it."""

from __future__ import annotations

from typing import Any

from django.test import TestCase
from django.urls import reverse

from huitouke.imports.models import ExportJob


def export_through_screen(
    client: Any,
    kind: str,
    fmt: str,
    *,
    lang: str | None = None,
    segment: int | None = None,
    language: str = "zh-hans",
) -> tuple[Any, ExportJob]:
    """POST the export form, run the queued job (huey_immediate must be on), download the file.

    Returns the download's response and the job; the job page and the download must answer 200.
    """
    data: dict[str, Any] = {}
    if lang is not None:
        data["lang"] = lang
    if segment is not None:
        data["segment"] = segment
    with TestCase.captureOnCommitCallbacks(execute=True):
        asked = client.post(
            reverse("imports:export", args=[kind, fmt]), data, HTTP_ACCEPT_LANGUAGE=language
        )
    assert asked.status_code == 302, asked
    job = ExportJob.objects.order_by("-pk").first()
    assert job is not None and asked["Location"] == reverse("imports:export_job", args=[job.pk])
    page = client.get(asked["Location"], HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    job.refresh_from_db()
    download = client.get(reverse("imports:export_download", args=[job.pk]))
    return download, job


def body(response: Any) -> bytes:
    """The bytes of a (streaming) file response."""
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)
