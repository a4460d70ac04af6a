"""An API client per persona: `api_as(user).get("/customers")` sends her bearer token as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from huitouke.accounts.models import User
from huitouke.accounts.tokens import create_api_token

BASE = "/api/v1"


class ApiClient:
    """A Django test client speaking JSON to /api/v1 with one user's token (English messages)."""

    def __init__(self, client: Client, token: str, language: str = "en") -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(BASE + path, params, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("post", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self._send("patch", path, body)

    def _send(self, method: str, path: str, body: Any) -> Any:
        # Bytes and str go out as they are, so tests can send malformed JSON.
        data = (
            body if isinstance(body, bytes | str) else json.dumps(body if body is not None else {})
        )
        return getattr(self.client, method)(
            BASE + path, data, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def api_as(db: Any) -> Any:
    """Return a function making an ApiClient for a user (a fresh token each time)."""

    def make(user: User, language: str = "en") -> ApiClient:
        return ApiClient(Client(), create_api_token(user, "test", actor=user), language)

    return make
