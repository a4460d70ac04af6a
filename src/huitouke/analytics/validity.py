"""Reports are stored only when they are valid JSON numbers; otherwise as "unavailable, because …".

A report the nightly refresh cannot compute (an exception, a NaN or infinity from a model) is
written in this shape instead of its data, so the page can say why the section is empty and
yesterday's numbers are never silently shown as today's.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["checked", "find_invalid", "is_unavailable", "unavailable", "unavailable_reason"]

UNAVAILABLE = "unavailable"


def find_invalid(data: Any, path: str = "") -> str | None:
    """The path of the first value that is not plain JSON (NaN, ±inf, a non-JSON type), or None."""
    if isinstance(data, bool) or data is None or isinstance(data, (str, int)):
        return None
    if isinstance(data, float):
        return None if math.isfinite(data) else f"{path or '/'} = {data}"
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                return f"{path}/{key!r} (key is not text)"
            if found := find_invalid(value, f"{path}/{key}"):
                return found
        return None
    if isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            if found := find_invalid(value, f"{path}[{i}]"):
                return found
        return None
    return f"{path or '/'} ({type(data).__name__} is not JSON)"


def checked(data: dict[str, Any]) -> dict[str, Any]:
    """`data` itself when it is valid JSON; raises ValueError naming the first bad value."""
    if bad := find_invalid(data):
        raise ValueError(f"report holds a value that is not a finite JSON number: {bad}")
    json.dumps(data, allow_nan=False)  # the database's JSON check, before the database sees it
    return data


def unavailable(code: str, reason: str) -> dict[str, Any]:
    """The stored form of a report that could not be computed."""
    return {"ok": False, UNAVAILABLE: {"code": code, "reason": reason}}


def is_unavailable(data: Any) -> bool:
    return isinstance(data, dict) and UNAVAILABLE in data


def unavailable_reason(data: Any) -> str | None:
    """The recorded reason of an unavailable report, or None for a usable one."""
    return str(data[UNAVAILABLE].get("reason", "")) if is_unavailable(data) else None
