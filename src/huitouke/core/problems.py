"""Errors as RFC 9457 problem details (`application/problem+json`), with stable codes.

Every error answer of the API carries `type` (a URN naming the code), `code`, `status`, `title`
and `detail` (in the caller's language, from Accept-Language) and `errors[]` (field paths and
messages; empty when no field is at fault). The codes are documented in docs/integrations.md
and never change meaning; new ones may be added.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:huitouke:problem:"

# code -> (HTTP status, title). Titles are short and fixed per code; `detail` says what happened.
PROBLEMS: dict[str, tuple[int, Any]] = {
    "invalid_json": (400, _("The request body is not valid JSON")),
    "invalid_idempotency_key": (400, _("The Idempotency-Key header is not valid")),
    "unauthenticated": (401, _("Authentication required")),
    "forbidden": (403, _("Not allowed")),
    "insufficient_scope": (403, _("The token's scope does not allow this")),
    "not_found": (404, _("Not found")),
    "conflict": (409, _("Conflicts with existing data")),
    "duplicate_external_id": (409, _("The external id is already in use")),
    "coupon_already_redeemed": (409, _("The coupon has already been used")),
    "idempotency_in_progress": (409, _("The first request with this key is still running")),
    "idempotency_key_reused": (422, _("The Idempotency-Key was used for a different request")),
    "validation_failed": (422, _("The input is not valid")),
    "value_out_of_range": (422, _("A value is out of range")),
    "reaches_nobody": (422, _("The campaign would reach nobody")),
    "server_error": (500, _("Internal error")),
}
# The problems any operation may answer, by HTTP method (declared in the OpenAPI schema).
COMMON_STATUSES: tuple[int, ...] = (401, 403, 404, 422)
WRITE_STATUSES = (400, 409)


class Problem(Exception):
    """Raised by API code to answer one problem: `raise Problem("duplicate_external_id", msg)`."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.status = PROBLEMS[code][0]
        self.detail = detail or str(PROBLEMS[code][1])
        self.errors = errors or ([{"field": field, "message": self.detail}] if field else [])


def problem_body(
    code: str, detail: str = "", errors: list[dict[str, Any]] | None = None, status: int = 0
) -> dict[str, Any]:
    """The JSON object of one problem."""
    default_status, title = PROBLEMS[code]
    return {
        "type": TYPE_PREFIX + code,
        "code": code,
        "status": status or default_status,
        "title": str(title),
        "detail": detail or str(title),
        "errors": errors or [],
    }


def problem_response(
    code: str,
    detail: str = "",
    errors: list[dict[str, Any]] | None = None,
    *,
    status: int = 0,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An HTTP answer carrying one problem."""
    body = problem_body(code, detail, errors, status)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=body["status"],
        content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    response["Content-Language"] = _current_language()
    return response


def _current_language() -> str:

    return get_language() or "zh-hans"
