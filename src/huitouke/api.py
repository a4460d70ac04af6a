"""The JSON API under /api/v1/: one NinjaAPI, each app contributing its router.

Every error answers a problem details object (RFC 9457, `application/problem+json`, see
integrations/problems.py) in the caller's language: 400 unreadable JSON, 401 no valid token or
session, 403 role not allowed, 404 missing or out of scope, 409 a conflict with stored data
(duplicate external id, coupon already used), 422 invalid input. Nothing a client sends should reach the 500
handler; it exists so that a bug still answers JSON and is logged.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from huitouke.accounts.api import router as accounts_router
from huitouke.accounts.auth import api_auth
from huitouke.automation.api import router as automation_router
from huitouke.core.problems import PROBLEMS, Problem, problem_response
from huitouke.customers.api import router as customers_router
from huitouke.followups.api import router as followups_router
from huitouke.integrations.api import router as integrations_router
from huitouke.integrations.openapi import document_problems
from huitouke.loyalty.api import router as loyalty_router
from huitouke.messaging.api import router as messaging_router
from huitouke.sales.api import router as sales_router
from huitouke.schemas import FieldError
from huitouke.segments.api import router as segments_router

logger = logging.getLogger(__name__)

# The action's field names for foreign keys, as the API spells them in request bodies.
API_FIELD_NAMES = {
    "owner": "owner_id",
    "home_store": "home_store_id",
    "referrer": "referrer_id",
    "store": "store_id",
    "customer": "customer_id",
    "staff": "staff_id",
    "category": "category_id",
    "__all__": None,
}


def _reject_number(text: str) -> Any:
    raise ValueError(f"not a finite number: {text[:20]}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _reject_number(text)
    return value


class StrictJsonParser(Parser):
    """A JSON object without NaN / Infinity, which no database column can store."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_constant=_reject_number, parse_float=_finite_float)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


class HuitoukeApi(NinjaAPI):
    """The API, whose OpenAPI schema also declares the error answers and the Idempotency-Key."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return document_problems(super().get_openapi_schema(**kwargs))


api = HuitoukeApi(
    title="Huitouke API",
    version="1",
    urls_namespace="api",
    auth=api_auth(),
    parser=StrictJsonParser(),
)
api.add_router("/", accounts_router)
api.add_router("/", customers_router)
api.add_router("/", sales_router)
api.add_router("/", loyalty_router)
api.add_router("/", followups_router)
api.add_router("/", segments_router)
api.add_router("/", automation_router)
api.add_router("/", messaging_router)
api.add_router("/", integrations_router)


def error_response(
    request: HttpRequest,
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    code: str | None = None,
) -> HttpResponse:
    """The one error answer of the API: a problem details object (RFC 9457)."""
    return problem_response(
        code or STATUS_CODES.get(status, "validation_failed"),
        detail,
        [_field_error(e) for e in errors or []],
        status=status,
    )


# The problem code of a status when nothing more specific is known.
STATUS_CODES = {
    400: "invalid_json",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "validation_failed",
    500: "server_error",
}


def _field_error(error: FieldError) -> dict[str, Any]:
    # `field` is the path into the request body or query ("lines.0.quantity"), None for the whole.
    return {"field": error.field, "message": error.message}


def _pydantic_message(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    if kind == "missing":
        if tuple(error.get("loc", ()))[:1] == ("body",) and len(error["loc"]) <= 2:
            return _("Send a JSON object as the request body.")  # the whole body is missing
        return _("This field is required.")
    if kind.startswith("int_"):
        return _("Enter a whole number.")
    if kind.startswith(("decimal_", "float_")) and "max" not in kind and "whole" not in kind:
        return _("Enter a number.")
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return _("The number is too large.")
    if kind == "decimal_max_places":
        return _("Use at most %(n)s decimal places.") % {"n": ctx.get("decimal_places")}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Ensure this value is greater than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("ge", ctx.get("gt"))
        }
    if kind in ("less_than_equal", "less_than"):
        return _("Ensure this value is less than or equal to %(limit_value)s.") % {
            "limit_value": ctx.get("le", ctx.get("lt"))
        }
    if kind == "string_too_long":
        return _("Use at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("This field cannot be blank.")
    if kind in ("enum", "literal_error"):
        return _("Select a valid choice. %(choices)s") % {"choices": ctx.get("expected", "")}
    if kind.startswith(("datetime_", "date_")):
        return _("Enter a valid date/time.")
    if kind.startswith("bool_"):
        return _("Enter true or false.")
    if kind.startswith("string_"):
        return _("Enter a text.")
    if kind in ("list_type", "tuple_type"):
        return _("Send a list.")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("Send a JSON object.")
    return str(error.get("msg", _("Enter a valid value.")))


def _pydantic_field(loc: tuple[Any, ...]) -> str | None:
    # ("body", "payload", "lines", 0, "quantity") -> "lines.0.quantity"; ("query", "limit") -> "limit"
    parts = list(loc[2:] if loc and loc[0] == "body" else loc[1:])
    return ".".join(str(p) for p in parts) or None


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        FieldError(field=_pydantic_field(tuple(e.get("loc", ()))), message=_pydantic_message(e))
        for e in exc.errors
    ]
    detail = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
    return error_response(request, 422, detail or _("The input is not valid."), errors)


@api.exception_handler(DjangoValidationError)
def _refused_by_action(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            FieldError(field=API_FIELD_NAMES.get(field, field), message=message)
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        codes = [e.code for errs in exc.error_dict.values() for e in errs if e.code]
        if "external_id" in exc.error_dict and _is_unique(exc):
            codes.insert(0, "duplicate_external_id")
    else:
        errors = [FieldError(field=None, message=message) for message in exc.messages]
        codes = [e.code for e in exc.error_list if e.code]
    # An action names a conflict by the ValidationError's code (e.g. "duplicate_external_id").
    code = next((c for c in codes if c in PROBLEMS), "validation_failed")
    return error_response(
        request, PROBLEMS[code][0], " ".join(e.message for e in errors), errors, code
    )


def _is_unique(exc: DjangoValidationError) -> bool:
    return any(e.code in ("unique", "unique_together") for e in exc.error_dict["external_id"])


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc.code, exc.detail, exc.errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        response = error_response(
            request,
            401,
            _("Sign in, or send a valid API token as “Authorization: Bearer <token>”."),
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(request, 400, _("The request body is not a valid JSON object."))
    return error_response(request, exc.status_code, str(exc))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 403, str(exc) or _("You may not do this."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, _("Not found."))


@api.exception_handler(DataError)
def _database_refused(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A safety net: inputs are validated before they reach the database, so this means a check
    # is missing somewhere. Log it, but the caller still sent something we cannot store.
    logger.warning("API input reached the database unchecked: %s", exc)
    return error_response(
        request, 422, _("A value is out of range or too long."), code="value_out_of_range"
    )


@api.exception_handler(IntegrityError)
def _conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("API write hit a database constraint: %s", exc)
    return error_response(request, 409, _("This conflicts with existing data (a duplicate?)."))


@api.exception_handler(Exception)
def _bug(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(request, 500, _("Something went wrong on our side; it has been logged."))
