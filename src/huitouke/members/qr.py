"""QR images with segno: the join link of a code, and her member code at the till."""

from __future__ import annotations

import io

import segno
from django.http import HttpRequest
from django.urls import reverse

from huitouke.members.models import JoinCode


def join_url(request: HttpRequest, code: JoinCode) -> str:
    """The absolute link a join QR code opens."""
    return request.build_absolute_uri(reverse("member:join", args=[code.token]))


def svg(data: str, *, scale: int = 4, title: str = "", inline: bool = False) -> str:
    """An SVG of a QR code; `inline` drops the XML declaration and the fixed size (CSS sizes it)."""
    buffer = io.BytesIO()
    segno.make(data, error="m").save(
        buffer,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=not inline,
        omitsize=inline,
        title=title or None,
    )
    return buffer.getvalue().decode()


def png(data: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
