"""The OpenAPI schema's error answers (problem details) and the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from huitouke.core.problems import COMMON_STATUSES, PROBLEMS, WRITE_STATUSES

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457). `code` is stable; `title` and `detail` follow "
    "Accept-Language; `errors` names the fields at fault.",
    "type": "object",
    "required": ["type", "code", "status", "title", "detail", "errors"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "code": {"type": "string", "enum": sorted(PROBLEMS)},
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
IDEMPOTENCY_HEADER: dict[str, Any] = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "A unique key per request (e.g. a UUID): a retry with the same key and body "
    "answers the first answer again (24 h); the same key with another body answers 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
DESCRIPTIONS = {
    400: "Unreadable body or Idempotency-Key",
    401: "No valid token or session",
    403: "Not allowed for your role or token scope",
    404: "Not found, or outside what you may see",
    409: "Conflicts with stored data, or the same Idempotency-Key still running",
    422: "Invalid input (validation_failed), a value out of range, or a campaign switched on "
    "that would reach nobody (reaches_nobody)",
}


def document_problems(schema: Any) -> Any:
    """Declare the problem answers of every operation, and the key header of every write."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = COMMON_STATUSES
            if method in ("post", "patch"):
                statuses = statuses + WRITE_STATUSES
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_HEADER)
            for status in sorted(statuses):
                operation["responses"].setdefault(
                    status, {"description": DESCRIPTIONS[status], "content": problem}
                )
    return schema
