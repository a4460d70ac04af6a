"""Fixtures for the import and export tests: jobs run at once instead of in the worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY


@pytest.fixture
def huey_immediate() -> Iterator[None]:
    """Run enqueued Huey tasks synchronously, in the test's own transaction."""
    before = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = before


@pytest.fixture
def owner_client(client: Any, owner: Any) -> Any:
    client.force_login(owner)
    return client
