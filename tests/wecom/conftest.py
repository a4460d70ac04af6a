"""Fixtures for WeCom tests: a running stand-in and an organisation connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from huitouke.accounts.models import Organisation
from huitouke.wecom.actions import do_save_connection
from huitouke.wecom.models import WeComConnection
from tests.wecom.standin import WeComStandIn

TOKEN = "cb-token-123"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


@pytest.fixture
def standin(settings: Any) -> Iterator[WeComStandIn]:
    server = WeComStandIn().start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def connection(org: Organisation, owner: Any, standin: WeComStandIn) -> WeComConnection:
    return do_save_connection(
        org,
        actor=owner,
        corp_id=standin.corp_id,
        secret=standin.secret,
        token=TOKEN,
        aes_key=AES_KEY,
    )
