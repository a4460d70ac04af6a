"""Fixtures of the integrations tests: the API tests' clients."""

from typing import Any

import pytest

from tests.api.conftest import api_as  # noqa: F401


@pytest.fixture(autouse=True)
def local_webhook_receivers(settings: Any) -> None:
    # The tests' receivers listen on 127.0.0.1, which a real deployment refuses (see test_ssrf).
    settings.WEBHOOK_ALLOW_PRIVATE = True
