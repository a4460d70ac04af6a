"""Idempotency-Key on every POST and PATCH of the API (draft-ietf-httpapi-idempotency-key-header).

The first answer for (caller, key) is stored for 24 hours and replayed for a retry with the same
request (method, path and JSON body, compared by SHA-256 of a canonical form); the same key with
a different request is refused (422 `idempotency_key_reused`). Concurrent retries run the handler
once: each first inserts the claim row, and the unique constraint lets exactly one of them win;
the others wait for its answer (or, past IDEMPOTENCY_WAIT_SECONDS, get 409
`idempotency_in_progress` and retry later). Answers 401/403/429 and 5xx are not kept: the
claim is released so that a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.accounts.models import ApiToken, hash_token
from huitouke.core.problems import problem_response
from huitouke.integrations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
# A claim older than this whose handler never finished (the process died) may be taken over.
CLAIM_TIMEOUT = timedelta(seconds=60)
NOT_KEPT = {401, 403, 429}
_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')  # an sf-string of printable ASCII, or bare


def request_hash(request: HttpRequest) -> str:
    """SHA-256 of method, path, query and body (JSON in a canonical form, so spacing may vary)."""
    body: bytes = request.body
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        body = canonical.encode()
    except ValueError:
        pass
    head = f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n"
    return hashlib.sha256(head.encode() + body).hexdigest()


def caller_of(request: HttpRequest) -> str | None:
    """Whose keys these are: the bearer token, else the signed-in user; None for anonymous."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        raw = header[7:].strip()
        token_id = (
            ApiToken.objects.filter(key_hash=hash_token(raw)).values_list("pk", flat=True).first()
            if raw and len(raw) <= 200
            else None
        )
        return f"token:{token_id}" if token_id else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code or 200, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _mismatch() -> HttpResponse:
    return problem_response(
        "idempotency_key_reused",
        _("This Idempotency-Key was already used for a different request; use a new key."),
        [{"field": HEADER, "message": _("Use a new key for a different request.")}],
    )


def _claim(
    caller: str, key: str, digest: str, tries: int = 3
) -> tuple[bool, IdempotencyRecord | None]:
    """Insert the claim row; (True, row) if this request runs the handler, else (False, theirs)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claim = IdempotencyRecord.objects.create(
                caller=caller,
                key=key,
                request_hash=digest,
                created_at=now,
                locked_until=now + CLAIM_TIMEOUT,
                expires_at=now + KEEP_FOR,
            )
        return True, claim
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
    if (record is None or record.expires_at <= now) and tries > 1:
        # Released between our insert and this read, or an expired answer that the cleanup has
        # not removed yet: the key is free again.
        if record is not None:
            IdempotencyRecord.objects.filter(pk=record.pk, expires_at=record.expires_at).delete()
        return _claim(caller, key, digest, tries - 1)
    if record is None:
        return False, None
    if (
        record.status_code is None
        and record.locked_until is not None
        and record.locked_until < now
        and record.request_hash == digest
    ):
        # Conditional take-over of a dead claim: of several retries, one wins.
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, status_code=None, locked_until=record.locked_until
        ).update(locked_until=now + CLAIM_TIMEOUT)
        if taken:
            record.locked_until = now + CLAIM_TIMEOUT
            return True, record
    return False, record


def _wait_for(record: IdempotencyRecord, digest: str) -> HttpResponse:
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        if record.request_hash != digest:
            return _mismatch()
        if record.status_code is not None:
            return _replay(record)
        if time.monotonic() >= deadline:
            return problem_response(
                "idempotency_in_progress",
                _("A request with this Idempotency-Key is still running; retry in a moment."),
                headers={"Retry-After": "1"},
            )
        time.sleep(0.05)
        fresh = IdempotencyRecord.objects.filter(pk=record.pk).first()
        if fresh is None:  # the first request failed and released its claim
            return problem_response(
                "idempotency_in_progress",
                _("The first request with this Idempotency-Key failed; send it again."),
                headers={"Retry-After": "1"},
            )
        record = fresh


def handle(request: HttpRequest, get_response: Callable[[HttpRequest], Any]) -> HttpResponse:
    """Run the request at most once per caller and Idempotency-Key."""
    raw_key = request.headers.get(HEADER)
    if raw_key is None:
        return get_response(request)
    match = _KEY.match(raw_key.strip())
    if not match:
        return problem_response(
            "invalid_idempotency_key",
            _("Send a key of 1 to 255 printable ASCII characters, such as a UUID."),
            [{"field": HEADER, "message": _("Send 1 to 255 printable ASCII characters.")}],
        )
    caller = caller_of(request)
    if caller is None:
        return get_response(request)  # the API answers 401; there is no one to keep keys for
    try:
        key, digest = match.group(1), request_hash(request)
    except RequestDataTooBig:
        return get_response(request)  # refused as it would be without a key
    mine, record = _claim(caller, key, digest)
    if record is None:  # the key kept changing hands under us: let the client retry
        return problem_response(
            "idempotency_in_progress",
            _("A request with this Idempotency-Key is still running; retry in a moment."),
            headers={"Retry-After": "1"},
        )
    if not mine:
        return _wait_for(record, digest)
    try:
        response: HttpResponse = get_response(request)
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code,
        content_type=response.get("Content-Type", "application/json")[:100],
        body=response.content,
        locked_until=None,
    )
    return response


def delete_expired() -> int:
    """Remove stored answers older than 24 hours."""
    deleted, _counts = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
