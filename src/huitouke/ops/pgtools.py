"""PostgreSQL client tools (pg_dump, pg_restore) and the connection they are given."""

from __future__ import annotations

import glob
import os
import shutil
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def pg_binary(name: str) -> str:
    """The path of pg_dump / pg_restore: PG_BIN_DIR, then PATH, then Debian's versioned folders."""
    if bin_dir := os.environ.get("PG_BIN_DIR"):
        path = os.path.join(bin_dir, name)
        if os.access(path, os.X_OK):
            return path
    if found := shutil.which(name):
        return found
    # Debian/Ubuntu keep one folder per major version; the newest reads dumps of older servers.
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise ImproperlyConfigured(
        f"{name} was not found: install the PostgreSQL client (apt install postgresql-client) "
        "or set PG_BIN_DIR to the folder that holds it"
    )


def libpq_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """Environment for a libpq tool: the password travels in PGPASSWORD, never on the command line."""
    env = dict(os.environ)
    mapping = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
    }
    for key, value in mapping.items():
        if value:
            env[key] = str(value)
    if sslmode := (settings_dict.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return env


def connect_kwargs(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for psycopg.connect from a Django database settings dict."""
    kwargs: dict[str, Any] = {"dbname": settings_dict["NAME"]}
    for key, name in (
        ("HOST", "host"),
        ("PORT", "port"),
        ("USER", "user"),
        ("PASSWORD", "password"),
    ):
        if settings_dict.get(key):
            kwargs[name] = settings_dict[key]
    if sslmode := (settings_dict.get("OPTIONS") or {}).get("sslmode"):
        kwargs["sslmode"] = sslmode
    return kwargs
