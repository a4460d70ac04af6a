"""Where restores go: a fresh data dir, and on PostgreSQL a new empty database beside the test one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from huitouke.ops.pgtools import connect_kwargs


def pg_url(params: dict[str, Any]) -> str:
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture
def restore_target(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Where to restore: a fresh data dir, and on PostgreSQL a new empty database beside the test one."""
    target: dict[str, Any] = {"data_dir": tmp_path / "fresh"}
    if connection.vendor != "postgresql":
        yield target
        return
    import psycopg

    params = dict(connection.settings_dict)
    name = f"{params['NAME']}_restore"
    admin = connect_kwargs({**params, "NAME": "postgres"})
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    target["settings"] = {**params, "NAME": name}
    target["url"] = pg_url(target["settings"])
    yield target
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
