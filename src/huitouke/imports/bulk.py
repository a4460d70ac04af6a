"""Plain rows INSERTed with `executemany`: the fast path for orders, lines and stats.

Building model instances and compiling `bulk_create` SQL costs several times the insert
itself (most of an import's time at 100k rows). Rows here are tuples prepared with the
backend's own adapters (datetimes, JSON), so SQLite and PostgreSQL store what the ORM would;
ids come from the database, and callers find them again by a unique key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db import connection, models


class FastTable:
    """INSERT (or upsert) rows of one model given as {attname: value} dicts."""

    def __init__(self, model: type[models.Model], now: datetime) -> None:
        ops = connection.ops
        fields = [f for f in model._meta.concrete_fields if not _is_auto(f)]
        self.fields = fields
        self.pk_column = model._meta.pk.column
        self.columns: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default: Any = now
            else:
                default = f.get_default()
            convert: Callable[[Any], Any] | None = None
            if isinstance(f, models.DateTimeField):
                convert = (
                    functools.partial(_sqlite_datetime, zone=connection.timezone or UTC)
                    if connection.vendor == "sqlite"
                    else ops.adapt_datetimefield_value
                )
            elif isinstance(f, models.JSONField):
                convert = functools.partial(f.get_db_prep_save, connection=connection)
            # Defaults are converted once here, not once per row.
            self.columns.append((f.attname, convert(default) if convert else default, convert))
        self.table = ops.quote_name(model._meta.db_table)
        self.names = [ops.quote_name(str(f.column)) for f in fields]
        marks = ", ".join(["%s"] * len(self.columns))
        self.sql = f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES ({marks})"
        self.column_of = {f.attname: ops.quote_name(str(f.column)) for f in fields}

    def _tuples(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        columns = self.columns
        return [
            tuple(
                [
                    (row[name] if convert is None else convert(row[name]))
                    if name in row
                    else default
                    for name, default, convert in columns
                ]
            )
            for row in rows
        ]

    def insert(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert the rows; returns how many."""
        self._write(self._tuples(rows), "")
        return len(rows)

    def _write(self, tuples: list[tuple[Any, ...]], suffix: str) -> None:
        if not tuples:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.executemany(self.sql + suffix, tuples)  # in-process: one statement, reused
                return
            # Over the network one multi-row INSERT per batch beats a statement per row.
            size = max(1, 60000 // max(len(self.columns), 1))
            one = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
            for start in range(0, len(tuples), size):
                batch = tuples[start : start + size]
                cursor.execute(
                    f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES "
                    + ", ".join([one] * len(batch))
                    + suffix,
                    [value for row in batch for value in row],
                )

    def insert_returning(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert the rows and return their new ids, in the order of `rows`."""
        ops = connection.ops
        pk = ops.quote_name(str(self.pk_column))
        width = len(self.columns)
        size = max(1, ops.bulk_batch_size(self.fields, rows) or len(rows))
        ids: list[int] = []
        tuples = self._tuples(rows)
        one = "(" + ", ".join(["%s"] * width) + ")"
        with connection.cursor() as cursor:
            for start in range(0, len(tuples), size):
                batch = tuples[start : start + size]
                # Multi-row VALUES … RETURNING gives the ids in VALUES order on SQLite (3.35+)
                # and PostgreSQL; Django's own bulk_create relies on the same.
                sql = (
                    f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES "
                    f"{', '.join([one] * len(batch))} RETURNING {pk}"
                )
                cursor.execute(sql, [value for row in batch for value in row])
                ids.extend(int(r[0]) for r in cursor.fetchall())
        return ids

    def upsert(self, rows: Sequence[dict[str, Any]], key: str, update: Sequence[str]) -> int:
        """Insert the rows, or update `update` where a row with the same unique `key` exists."""
        # ON CONFLICT … DO UPDATE is the same on SQLite (3.24+) and PostgreSQL.
        sets = ", ".join(f"{self.column_of[u]} = excluded.{self.column_of[u]}" for u in update)
        self._write(
            self._tuples(rows), f" ON CONFLICT ({self.column_of[key]}) DO UPDATE SET {sets}"
        )
        return len(rows)


def _sqlite_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    # What SQLite's adapt_datetimefield_value stores (naive UTC text), without its per-call
    # checks: the hot loop of an import converts every order's time.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(zone).replace(tzinfo=None)
    return str(value)


def _is_auto(field: models.Field[Any, Any]) -> bool:
    return isinstance(field, models.AutoField | models.BigAutoField | models.SmallAutoField)
