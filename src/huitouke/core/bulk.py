"""Plain rows INSERTed with `executemany`: the fast path for orders, lines and stats.

Building model instances and compiling `bulk_create` SQL costs several times the insert
itself (most of an import's time at 100k rows). Rows here are tuples prepared with the
backend's own adapters (datetimes, JSON), so SQLite and PostgreSQL store what the ORM would;
new ids come back from the database (see FastTable._returning).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db import connection, models

BATCH = 500  # values per IN (...) list: well inside SQLite's and PostgreSQL's limits


def batches(values: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    """`values` in lists of at most `size`."""
    iterator = iter(values)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class FastTable:
    """INSERT (or upsert) rows of one model given as tuples of some of its fields."""

    def __init__(self, model: type[models.Model], now: datetime) -> None:
        ops = connection.ops
        fields = [f for f in model._meta.concrete_fields if not _is_auto(f)]
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
        self.column_of = {f.attname: ops.quote_name(str(f.column)) for f in fields}
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], _Layout] = {}

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

    def insert_tuples(
        self,
        names: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        *,
        prepared: tuple[str, ...] = (),
    ) -> int:
        """Insert rows given as tuples of the fields `names` (attnames, in that order); returns how many.

        The other columns take their defaults. Datetime and JSON fields are adapted for the
        backend, except those in `prepared`, whose values the caller adapted already.
        """
        layout = self._layouts.get((names, prepared)) or self._layout(names, prepared)
        self._write(layout.columns, layout.complete(rows), "")
        return len(rows)

    def adapter(self, name: str) -> Callable[[Any], Any]:
        """The function turning a value of field `name` into what the backend stores."""
        convert = next(c for n, _default, c in self.columns if n == name)
        return convert or (lambda value: value)

    def _layout(self, names: tuple[str, ...], prepared: tuple[str, ...] = ()) -> _Layout:
        by_name = {name: convert for name, _default, convert in self.columns}
        unknown = set(names) - set(by_name)
        if unknown:
            raise ValueError(f"{self.table} has no fields {sorted(unknown)}")
        others = [(name, default) for name, default, _convert in self.columns if name not in names]
        converters = []
        for position, name in enumerate(names):
            convert = by_name[name]
            if convert is not None and name not in prepared:
                converters.append((position, convert))
        layout = _Layout(
            columns=[self.column_of[name] for name in [*names, *(name for name, _d in others)]],
            converters=tuple(converters),
            rest=tuple(default for _name, default in others),
        )
        self._layouts[names, prepared] = layout
        return layout

    def _write(self, columns: list[str], tuples: list[tuple[Any, ...]], suffix: str) -> None:
        if not tuples:
            return
        head = f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES "
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.executemany(head + one + suffix, tuples)  # in-process: one statement, reused
                return
            # Over the network one multi-row INSERT per batch beats a statement per row.
            size = _rows_per_statement(len(columns))
            for start in range(0, len(tuples), size):
                batch = tuples[start : start + size]
                cursor.execute(
                    head + ", ".join([one] * len(batch)) + suffix,
                    [value for row in batch for value in row],
                )

    def insert_returning(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert rows given as {attname: value} dicts and return their new ids, in their order."""
        return self._returning(self.names, self._tuples(rows))

    def insert_tuples_returning(
        self,
        names: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        *,
        prepared: tuple[str, ...] = (),
    ) -> list[int]:
        """Insert rows as insert_tuples() does and return their new ids, in the order of `rows`."""
        layout = self._layouts.get((names, prepared)) or self._layout(names, prepared)
        return self._returning(layout.columns, layout.complete(rows))

    def _returning(self, columns: list[str], tuples: list[tuple[Any, ...]]) -> list[int]:
        if not tuples:
            return []
        if connection.vendor == "sqlite":
            return self._sqlite_returning(columns, tuples)
        pk = connection.ops.quote_name(str(self.pk_column))
        head = f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES "
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        size = _rows_per_statement(len(columns))
        ids: list[int] = []
        with connection.cursor() as cursor:
            for start in range(0, len(tuples), size):
                batch = tuples[start : start + size]
                # Multi-row VALUES … RETURNING gives the ids in VALUES order on PostgreSQL;
                # Django's own bulk_create relies on the same.
                cursor.execute(
                    head + ", ".join([one] * len(batch)) + f" RETURNING {pk}",
                    [value for row in batch for value in row],
                )
                ids.extend(int(r[0]) for r in cursor.fetchall())
        return ids

    def _sqlite_returning(self, columns: list[str], tuples: list[tuple[Any, ...]]) -> list[int]:
        # executemany is the fastest insert SQLite has (multi-row VALUES … RETURNING cost 15%
        # more for 1M orders), but returns no ids. They follow from the last one: inside the
        # transaction this connection is SQLite's only writer, and each new row takes the next
        # rowid above all earlier ones. The count over the range proves it: a gap would leave
        # fewer than len(tuples) rows in it, since no earlier row can lie inside it.
        pk = connection.ops.quote_name(str(self.pk_column))
        self._write(columns, tuples, "")
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_insert_rowid()")
            last = int(cursor.fetchone()[0])
            first = last - len(tuples) + 1
            cursor.execute(
                f"SELECT COUNT(*) FROM {self.table} WHERE {pk} BETWEEN %s AND %s", [first, last]
            )
            if cursor.fetchone()[0] != len(tuples):
                raise RuntimeError(f"the new rows of {self.table} did not get consecutive ids")
        return list(range(first, last + 1))

    def upsert(
        self,
        names: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        key: str,
        update: Sequence[str],
        *,
        prepared: tuple[str, ...] = (),
    ) -> int:
        """Insert rows of `names` (as insert_tuples), or update `update` where one with the same unique `key` exists."""
        # ON CONFLICT … DO UPDATE is the same on SQLite (3.24+) and PostgreSQL.
        sets = ", ".join(f"{self.column_of[u]} = excluded.{self.column_of[u]}" for u in update)
        layout = self._layouts.get((names, prepared)) or self._layout(names, prepared)
        self._write(
            layout.columns,
            layout.complete(rows),
            f" ON CONFLICT ({self.column_of[key]}) DO UPDATE SET {sets}",
        )
        return len(rows)


@dataclass(frozen=True)
class _Layout:
    """An INSERT for tuples of some fields: their columns first, then the others' defaults."""

    columns: list[str]
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in the tuple, adapter)
    rest: tuple[Any, ...]  # the defaults of the columns not named, appended to every row

    def complete(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows with their values adapted and the defaults appended, ready to bind."""
        rest = self.rest
        if not self.converters:
            return [row + rest for row in rows]
        if len(self.converters) == 1:
            ((at, convert),) = self.converters
            return [(*row[:at], convert(row[at]), *row[at + 1 :], *rest) for row in rows]
        tuples = []
        for row in rows:
            values = list(row)
            for position, convert in self.converters:
                values[position] = convert(values[position])
            tuples.append((*values, *rest))
        return tuples


def local_datetime_adapter(zone: tzinfo) -> Callable[[datetime], Any]:
    """A function turning a file's time (naive: wall time in `zone`) into what the backend stores.

    The same value FastTable's datetime adapter gives for the aware time, for a `prepared`
    field: the hot loop of an order import then converts each order's time in one step.
    """
    if connection.vendor != "sqlite":
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: adapt(value if value.tzinfo else value.replace(tzinfo=zone))
    stored = connection.timezone or UTC

    def sqlite_value(value: datetime) -> str:
        if value.tzinfo is None and stored is UTC:
            offset = zone.utcoffset(value)
            assert offset is not None  # a ZoneInfo always has one
            # As value.replace(tzinfo=zone).astimezone(UTC), without the two aware datetimes.
            return str(value - offset)
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return str(value.astimezone(stored).replace(tzinfo=None))

    return sqlite_value


def _rows_per_statement(width: int) -> int:
    """How many rows of `width` values one multi-row INSERT may carry (PostgreSQL)."""
    # The protocol counts bind parameters in 16 bits; beyond 1000 rows a statement only
    # costs more to prepare.
    return max(1, min(1000, 65535 // max(width, 1)))


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
