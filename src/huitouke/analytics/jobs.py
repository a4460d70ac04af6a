"""The analytics refresh: load an organisation's data, compute every result, store it.

`refresh_organisation` claims the organisation (one running RefreshRun per organisation, a
partial unique constraint), computes everything in memory with the pure functions, then writes
CustomerAnalytics and CustomerDue rows and Reports in bulk. Writing the same as-of twice gives
the same rows, so a retry or a second worker is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Field, Model, Q
from django.utils import timezone

from huitouke.accounts.models import Organisation, Role, Store, User
from huitouke.analytics import current, loader, reports, results, trends, validity
from huitouke.analytics.loader import Frames, load_frames
from huitouke.analytics.models import (
    CustomerAnalytics,
    CustomerDue,
    RefreshRun,
    Report,
    ReportKind,
)
from huitouke.customers.models import Customer
from huitouke.sales.models import Category

__all__ = [
    "NIGHTLY_AT",
    "STALE_AFTER",
    "customer_core",
    "local_today",
    "refresh_due_organisations",
    "refresh_organisation",
]

logger = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(hours=2)  # a "running" refresh older than this has died
NIGHTLY_AT = dt.time(2, 30)  # local time of the nightly refresh
WRITE_BATCH = 2000
MAX_FAILURES_PER_DAY = 3

_CUSTOMER_FIELDS = [
    "organisation",
    "as_of",
    "lifecycle",
    "reactivated",
    "days_since_last",
    "days_since_first",
    "silent_after",
    "churned_after",
    "threshold_source",
    "cycle_days",
    "cycle_category",
    "gap_before_last_days",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_class",
    "due_categories",
    "p_alive",
    "expected_orders_90d",
    "p_order_90d",
    "expected_aov",
    "predicted_clv",
    "clv_rank",
    "clv_if_alive",
    "updated_at",
]


def local_today(organisation: Organisation, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the organisation's time zone."""
    return (now or timezone.now()).astimezone(ZoneInfo(organisation.time_zone)).date()


def _settled(organisation: Organisation, as_of: dt.date) -> bool:
    """Whether the nightly refresh of this as-of needs no more runs: one finished, or it failed
    repeatedly (the owner sees the error; retrying every few minutes all day would only load
    the database)."""
    counts = RefreshRun.objects.filter(organisation=organisation, as_of=as_of).aggregate(
        done=Count("pk", filter=Q(status=RefreshRun.Status.DONE)),
        failed=Count("pk", filter=Q(status=RefreshRun.Status.FAILED)),
    )  # one query: the nightly loop asks this of every organisation, twice of those it does
    return bool(counts["done"]) or counts["failed"] >= MAX_FAILURES_PER_DAY


def _claim(
    organisation: Organisation, as_of: dt.date, *, unless_settled: bool = False
) -> RefreshRun | None:
    """Insert this organisation's one running RefreshRun, or None if another one holds it.

    With `unless_settled` (the nightly), also None when the as-of turns out settled once the
    claim is held: a worker that found the organisation due may have waited (between its look
    and its claim) while another one did the whole refresh; the look is repeated under the
    claim, where no other refresh of the organisation can start or finish.
    """
    now = timezone.now()
    RefreshRun.objects.filter(
        organisation=organisation,
        status=RefreshRun.Status.RUNNING,
        started_at__lt=now - STALE_AFTER,
    ).update(
        status=RefreshRun.Status.FAILED,
        finished_at=now,
        detail={"error": "abandoned: the refresh stopped without finishing"},
    )
    try:
        with transaction.atomic():
            run = RefreshRun.objects.create(organisation=organisation, as_of=as_of, started_at=now)
    except IntegrityError:
        return None
    if unless_settled and _settled(organisation, as_of):
        RefreshRun.objects.filter(pk=run.pk).delete()
        return None
    return run


class _Clock:
    """Seconds spent in each step, for RefreshRun.detail."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self._last, 3)
        self._last = now


def _money(value: float | int | None, *, cents: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if cents:
        return Decimal(int(value)).scaleb(-2)
    return Decimal(f"{value:.2f}")


def _float(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return field.column


def _upsert(
    model: type[Model],
    fields: list[str],
    rows: list[tuple[Any, ...]],
    unique: list[str],
    ignore_for_change: list[str] | None = None,
) -> None:
    """INSERT … ON CONFLICT (unique) DO UPDATE for many rows, in slices, one transaction each.

    The ORM's bulk_create spends most of a 100,000-row refresh preparing values one by one
    (and SQLite batches of 33 rows); the rows here are already database-ready, so a single
    prepared statement run with executemany is an order of magnitude faster. Each slice is
    its own transaction so order entry never waits long behind SQLite's write lock. With
    `ignore_for_change`, a stored row is left alone unless another field differs
    (`loader.unchanged_guard`).
    """
    qn = connection.ops.quote_name
    columns = [_column(model, f) for f in fields]
    conflict = [_column(model, f) for f in unique]
    updates = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in columns if c not in conflict)
    guard = ""
    if ignore_for_change is not None:
        skip = {*conflict, *(_column(model, f) for f in ignore_for_change)}
        guard = loader.unchanged_guard(model._meta.db_table, [c for c in columns if c not in skip])
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET {updates}{guard}"
    )
    for offset in range(0, len(rows), WRITE_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows[offset : offset + WRITE_BATCH])


def _analytics_rows(
    table: pl.DataFrame, organisation: Organisation, as_of: dt.date
) -> list[tuple[Any, ...]]:
    """CustomerAnalytics values in _CUSTOMER_FIELDS order, ready for the database."""
    ops = connection.ops
    day = ops.adapt_datefield_value(as_of)
    now = ops.adapt_datetimefield_value(timezone.now())
    json_field = CustomerAnalytics._meta.get_field("due_categories")
    assert isinstance(json_field, Field)
    as_json = json_field.get_db_prep_save
    return [
        (
            r["customer_id"],
            organisation.pk,
            day,
            r["stage"],
            r["reactivated"],
            r["days_since_last"],
            r["days_since_first"],
            r["silent_after"],
            r["churned_after"],
            r["threshold_source"],
            r["cycle_days"],
            r["cycle_category_id"],
            r["gap_before_last_days"],
            r["recency_days"],
            r["frequency"],
            _money(r["monetary_cents"], cents=True),
            r["r_score"],
            r["f_score"],
            r["m_score"],
            r["rfm_segment"] or "",
            r["value_class"],
            as_json(r["due_categories"] or [], connection),
            _float(r["p_alive"]),
            _float(r["expected_orders_90d"]),
            _float(r["p_order_90d"]),
            _money(r["expected_aov"]),
            _money(r["predicted_clv"]),
            r["clv_rank"],
            _money(r["clv_if_alive"]),
            now,
        )
        for r in table.iter_rows(named=True)
    ]


def _cents_text(name: str) -> pl.Expr:
    """Whole cents as the text of `_money(cents=True)`: -5 -> "-0.05", 12000 -> "120.00"."""
    cents = pl.col(name)
    whole, part = cents.abs() // 100, (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return sign + whole.cast(pl.String) + "." + part


def _money_text(values: pl.Series) -> pl.Series:
    """Floats as the text of `_money` (Python's own formatting, so the same to the cent)."""
    return pl.Series(
        [
            None if v is None or not math.isfinite(v) else str(Decimal(f"{v:.2f}"))
            for v in values.to_list()
        ],
        dtype=pl.String,
    )


def _analytics_frame(
    table: pl.DataFrame, organisation: Organisation, as_of: dt.date
) -> pl.DataFrame:
    """`_analytics_rows` as columns named after the table's, for the child's bulk upsert.

    The same values the cursor would bind: booleans as 0/1, money as Decimal text, dates and
    times in Django's SQLite format, the due categories as JSON text.
    """
    ops = connection.ops
    finite = {
        c: pl.when(pl.col(c).is_finite()).then(pl.col(c))
        for c in ("p_alive", "expected_orders_90d", "p_order_90d")
    }
    due = pl.col("due_categories")
    values = table.select(
        "customer_id",
        pl.lit(organisation.pk, pl.Int64).alias("organisation"),
        pl.lit(str(ops.adapt_datefield_value(as_of)), pl.String).alias("as_of"),
        pl.col("stage").alias("lifecycle"),
        pl.col("reactivated").cast(pl.Int64),
        "days_since_last",
        "days_since_first",
        "silent_after",
        "churned_after",
        "threshold_source",
        "cycle_days",
        pl.col("cycle_category_id").alias("cycle_category"),
        "gap_before_last_days",
        "recency_days",
        "frequency",
        _cents_text("monetary_cents").alias("monetary"),
        "r_score",
        "f_score",
        "m_score",
        pl.col("rfm_segment").fill_null(""),
        "value_class",
        pl.when(due.is_null() | (due.list.len() == 0))
        .then(pl.lit("[]"))
        .otherwise("[" + due.list.eval(pl.element().cast(pl.String)).list.join(", ") + "]")
        .alias("due_categories"),
        **finite,
        expected_aov=_money_text(table["expected_aov"]),
        predicted_clv=_money_text(table["predicted_clv"]),
        clv_rank="clv_rank",
        clv_if_alive=_money_text(table["clv_if_alive"]),
        updated_at=pl.lit(str(ops.adapt_datetimefield_value(timezone.now())), pl.String),
    )
    fields = ["customer", *_CUSTOMER_FIELDS]
    return values.rename(
        {old: _column(CustomerAnalytics, f) for old, f in zip(values.columns, fields, strict=True)}
    )


def _bulk_writes(organisation: Organisation) -> bool:
    """Whether the customer and due rows are written in bulk rather than by executemany.

    On PostgreSQL by COPY into a temporary table and one upsert, for a shop of any size from
    settings.ANALYTICS_COPY_MIN_CUSTOMERS (0: all; the customer count is asked only above 0):
    its fixed cost is a temporary table, not a process start, and even at 500 customers it
    is about 4x faster than executemany, whose every row is a statement PostgreSQL parses and
    plans (docs/benchmarks.md, target 3). Only outside a transaction: the COPY writer's
    failure must roll back only its own. On SQLite by the child process, for large shops
    (`loader.bulk_writes`).
    """
    if connection.vendor != "postgresql":
        return loader.bulk_writes(organisation)
    if connection.in_atomic_block:
        return False
    least = settings.ANALYTICS_COPY_MIN_CUSTOMERS
    return least <= 0 or Customer.objects.filter(organisation=organisation).count() >= least


def _customers_bulk(
    organisation: Organisation, as_of: dt.date, table: pl.DataFrame
) -> dict[str, Any]:
    """The arguments of the customer rows' bulk upsert (`loader.bulk_upsert`)."""
    return {
        "table": CustomerAnalytics._meta.db_table,
        "rows": _analytics_frame(table, organisation, as_of),
        "conflict": [_column(CustomerAnalytics, "customer")],
        "ignore_for_change": [_column(CustomerAnalytics, "updated_at")],
    }


def _write_customers(
    organisation: Organisation, as_of: dt.date, table: pl.DataFrame, written: bool | None = None
) -> None:
    # A stored row whose results (as_of included) are what was computed is not rewritten, so
    # a second refresh of the same day writes only the customers whose orders changed;
    # updated_at then says when her results last changed.
    # A large shop's rows go through the child process's bulk upsert on SQLite (about 3x
    # faster), every shop's on PostgreSQL through COPY into a temporary table and one upsert.
    # `written`: whether that bulk write was already done (by `_Background`); False writes
    # every row by the cursor.
    if written is None:
        written = _bulk_writes(organisation) and loader.bulk_upsert(
            **_customers_bulk(organisation, as_of, table)
        )
    if not written:
        rows = _analytics_rows(table, organisation, as_of)
        _upsert(
            CustomerAnalytics,
            ["customer", *_CUSTOMER_FIELDS],
            rows,
            ["customer"],
            ignore_for_change=["updated_at"],
        )
    # Customers merged into another since the last refresh keep no results of their own.
    CustomerAnalytics.objects.filter(
        organisation=organisation, customer__merged_into__isnull=False
    ).delete()


_DUE_FIELDS = [
    "customer",
    "category",
    "organisation",
    "last_purchase_date",
    "due_from_days",
    "due_to_days",
    "window_source",
    "due_now",
]


def _due_frame(organisation: Organisation, as_of: dt.date, due: pl.DataFrame) -> pl.DataFrame:
    """The due rows as database-ready columns named after the table's (see `_analytics_frame`)."""
    values = due.select(
        "customer_id",
        "category_id",
        pl.lit(organisation.pk, pl.Int64).alias("organisation"),
        pl.col("last_purchase_date").cast(pl.String),
        "due_from_days",
        "due_to_days",
        "window_source",
        pl.col("due_now").cast(pl.Int64),
    )
    return values.rename(
        {old: _column(CustomerDue, f) for old, f in zip(values.columns, _DUE_FIELDS, strict=True)}
    )


def _due_bulk(organisation: Organisation, as_of: dt.date, due: pl.DataFrame) -> dict[str, Any]:
    """The arguments of the due rows' bulk upsert (`loader.bulk_upsert`)."""
    return {
        "table": CustomerDue._meta.db_table,
        "rows": _due_frame(organisation, as_of, due),
        "conflict": [_column(CustomerDue, "customer"), _column(CustomerDue, "category")],
        "replace": (_column(CustomerDue, "organisation"), organisation.pk),
        "ignore_for_change": [],
    }


def _write_due(
    organisation: Organisation, as_of: dt.date, due: pl.DataFrame, written: bool | None = None
) -> None:
    # The stored rows become exactly today's, in one transaction: yesterday's rows that are not
    # due any more are deleted, and of the others only those whose values changed are written
    # (no day count or as_of is stored, so on a quiet night most rows are left alone).
    # `written` as in `_write_customers`.
    if written is None:
        written = _bulk_writes(organisation) and loader.bulk_upsert(
            **_due_bulk(organisation, as_of, due)
        )
    if written:
        return
    adapt = connection.ops.adapt_datefield_value
    rows = [
        (
            r["customer_id"],
            r["category_id"],
            organisation.pk,
            adapt(r["last_purchase_date"]),
            r["due_from_days"],
            r["due_to_days"],
            r["window_source"],
            r["due_now"],
        )
        for r in due.iter_rows(named=True)
    ]
    keep = {(r[0], r[1]) for r in rows}
    with transaction.atomic():
        stored = CustomerDue.objects.filter(organisation=organisation)
        gone = [
            pk
            for pk, customer, category in stored.values_list("pk", "customer_id", "category_id")
            if (customer, category) not in keep
        ]
        for offset in range(0, len(gone), WRITE_BATCH):
            CustomerDue.objects.filter(pk__in=gone[offset : offset + WRITE_BATCH]).delete()
        _upsert(CustomerDue, _DUE_FIELDS, rows, ["customer", "category"], ignore_for_change=[])


_REPORT_FIELDS = ["organisation", "kind", "scope", "as_of", "data", "computed_at"]
_REPORT_KEY = ["organisation", "kind", "scope", "as_of"]


def _upsert_reports(
    organisation: Organisation,
    as_of: dt.date,
    reports: dict[tuple[str, str], dict[str, Any]],
    now: dt.datetime,
) -> None:
    """Every report in one upsert, the values prepared as the ORM's bulk_create prepares them.

    Not bulk_create itself: on PostgreSQL it sends the rows as arrays for UNNEST, and psycopg
    escapes every JSON text for its array literal in Python (most of a small shop's report
    write). An executemany of one prepared upsert sends each JSON as one quoted string.
    """
    ops = connection.ops
    data = Report._meta.get_field("data")
    assert isinstance(data, Field)
    day, at = ops.adapt_datefield_value(as_of), ops.adapt_datetimefield_value(now)
    rows = [
        (organisation.pk, kind, scope, day, data.get_db_prep_save(d, connection), at)
        for (kind, scope), d in reports.items()
    ]
    _upsert(Report, _REPORT_FIELDS, rows, _REPORT_KEY)


def _write_reports(organisation: Organisation, as_of: dt.date, outcome: _Outcome) -> None:
    """Every report at once; if that fails, each on its own so one bad row loses only itself."""
    now = timezone.now()

    def row(kind: str, scope: str, data: dict[str, Any]) -> Report:
        return Report(
            organisation=organisation,
            kind=kind,
            scope=scope,
            as_of=as_of,
            data=data,
            computed_at=now,
        )

    upsert = {
        "update_conflicts": True,
        "unique_fields": _REPORT_KEY,
        "update_fields": ["data", "computed_at"],
    }
    try:
        with transaction.atomic():
            _upsert_reports(organisation, as_of, outcome.reports, now)
        return
    except DatabaseError as exc:
        logger.warning("analytics refresh: writing the reports at once failed (%s)", exc)
    for (kind, scope), data in outcome.reports.items():
        try:
            with transaction.atomic():
                Report.objects.bulk_create([row(kind, scope, data)], **upsert)  # type: ignore[arg-type]
        except DatabaseError as exc:
            reason = outcome.failed(kind, exc, scope)
            with transaction.atomic():
                Report.objects.bulk_create(
                    [row(kind, scope, validity.unavailable("failed", reason))],
                    **upsert,  # type: ignore[arg-type]
                )


def _write_learned_cycles(organisation: Organisation, category_stats: pl.DataFrame) -> None:
    """Category.learned_cycle_days = the learned median gap, rounded half up (None if none)."""
    learned = {
        int(r["category_id"]): math.floor(r["median"] + 0.5)
        for r in category_stats.iter_rows(named=True)
    }
    changed = []
    for category in Category.objects.filter(organisation=organisation):
        value = learned.get(category.pk)
        if category.learned_cycle_days != value:
            category.learned_cycle_days = value
            changed.append(category)
    Category.objects.bulk_update(changed, ["learned_cycle_days"], batch_size=500)


def customer_core(
    organisation: Organisation, as_of: dt.date, frames: Frames | None = None
) -> tuple[pl.DataFrame, str]:
    """Lifecycle, RFM and value class of every customer as of a date, and where they came from.

    "stats" when the kept-up customer stats cover as_of (the nightly case: one stats row per
    customer plus the look-back's orders are read), otherwise "orders" (every order and line,
    from `frames` when the caller has loaded them already).
    """
    settings = results.Settings.of(organisation)
    if current.stats_cover(organisation, as_of):
        return current.core_results_from_stats(organisation, as_of, settings), "stats"
    return results.core_results(frames or load_frames(organisation), as_of, settings), "orders"


class _Outcome:
    """What one refresh computed, and which of its parts failed (and why)."""

    def __init__(self) -> None:
        self.reports: dict[tuple[str, str], dict[str, Any]] = {}
        self.errors: list[dict[str, str]] = []

    def failed(self, part: str, exc: BaseException, scope: str = "") -> str:
        """Record a failed part (logged with its traceback); returns the reason to store."""
        logger.warning(
            "analytics refresh: %s%s failed", part, f" ({scope})" if scope else "", exc_info=exc
        )
        reason = f"{type(exc).__name__}: {exc}"[:500]
        self.errors.append({"part": part, "scope": scope, "error": reason})
        return reason

    def report(self, kind: str, scope: str, build: Callable[[], dict[str, Any]]) -> None:
        """Compute one report on its own: a failure or an invalid number stores it as unavailable."""
        try:
            data = build()
        except Exception as exc:
            data = validity.unavailable("failed", self.failed(kind, exc, scope))
        self.store(kind, scope, data)

    def store(self, kind: str, scope: str, data: dict[str, Any]) -> None:
        """Keep a computed report if it is valid JSON, otherwise its "unavailable" form."""
        try:
            self.reports[(kind, scope)] = validity.checked(data)
        except (TypeError, ValueError) as exc:
            self.reports[(kind, scope)] = validity.unavailable(
                "failed", self.failed(kind, exc, scope)
            )

    def reports_of(
        self, kind: str, build: Callable[[], dict[str, dict[str, Any]]], scopes: list[str]
    ) -> None:
        """A report built for every scope at once; its failure marks each scope unavailable."""
        try:
            built = build()
        except Exception as exc:
            reason = self.failed(kind, exc)
            built = {scope: validity.unavailable("failed", reason) for scope in scopes}
        for scope, data in built.items():
            self.store(kind, scope, data)


def _clv(frames: Frames, as_of: dt.date, outcome: _Outcome) -> results.ClvOutcome:
    """The CLV fit, or none: an unexpected failure leaves predictions empty, the rest goes on."""
    try:
        model = results.clv_outcome(frames, as_of)
        if model.predictions is not None:
            bad = model.predictions.select(
                pl.any_horizontal(
                    pl.col(pl.Float64).is_nan() | pl.col(pl.Float64).is_infinite()
                ).any()
            ).item()
            if bad:
                raise ValueError("a prediction is not a finite number")
        validity.checked(model.report)
        return model
    except Exception as exc:
        reason = outcome.failed(ReportKind.CLV, exc)
        report = validity.unavailable("failed", reason)
        report.update(error={"code": "failed", "message": reason, "value": None}, warnings=[])
        return results.ClvOutcome(None, report)


class _Background:
    """The due and customer rows' bulk writes by SQLite's child process, while the refresh goes on.

    The rows are prepared here, in the refresh's thread (`loader.upsert_in_child_later`); one
    worker thread runs the child processes, one after the other (SQLite has one writer), and
    only waits for them, so the child writes on the machine's other core while the refresh
    computes CLV and the reports. `written` gives a write's result once it is done (False:
    the child failed and the caller writes the rows by the cursor, in its own thread); a
    write not started gives None (the caller writes as it always did). Leaving the `with`
    waits for every write started, so a failed refresh is marked failed only once no child
    writes for it any more.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="huitouke-refresh-write")
        self._writes: dict[str, Future[bool]] = {}
        self.seconds: dict[str, float] = {}

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)

    def start(self, name: str, bulk: dict[str, Any]) -> None:
        if connection.vendor == "postgresql":
            write = _on_own_connection(lambda: loader.upsert_by_copy(**bulk))
        else:
            write = loader.upsert_in_child_later(**bulk)

        def timed() -> bool:
            start = time.perf_counter()
            try:
                return write()
            finally:
                self.seconds[name] = round(time.perf_counter() - start, 3)

        self._writes[name] = self._pool.submit(timed)

    def written(self, name: str) -> bool | None:
        write = self._writes.get(name)
        return None if write is None else write.result()


def _on_own_connection(write: Callable[[], bool]) -> Callable[[], bool]:
    """A PostgreSQL write to run in `_Background`'s thread, on that thread's own connection.

    Django's connections are per thread: the write opens its own, commits on it (the server
    does the COPY's upsert on another core while the refresh computes) and closes it.
    """

    def run() -> bool:
        try:
            with _recomputable_commits():
                return write()
        finally:
            connection.close()

    return run


def _overlapped(organisation: Organisation) -> bool:
    """Whether the refresh's bulk writes run while it computes (`_Background`).

    On SQLite for every shop whose rows go through the child process; on PostgreSQL for a
    shop as large as that (a small shop's writes take milliseconds, less than a connection's
    start), outside a transaction (the other connection sees only committed rows).
    """
    # On SQLite `_bulk_writes` is `loader.bulk_writes` itself.
    return _bulk_writes(organisation) and (
        connection.vendor == "sqlite" or loader.bulk_writes(organisation)
    )


def _compute(
    organisation: Organisation,
    as_of: dt.date,
    clock: _Clock,
    background: _Background | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None, _Outcome, str]:
    """Customer results (must succeed) and every report (each on its own).

    With `background`, the due rows are handed to it as soon as they are known, and the
    customer rows once CLV is done, to be written while the reports are computed.
    """
    outcome = _Outcome()
    frames = load_frames(organisation)  # the cycles, CLV and reports below need every order
    clock.lap("load")
    core, source = customer_core(organisation, as_of, frames)
    clock.lap("customers")
    due: pl.DataFrame | None = None
    category_stats: pl.DataFrame | None = None
    try:
        cycle_data, category_stats = reports.cycles_report(frames, as_of)
        due = results.due_rows(frames, as_of, category_stats)
        outcome.report(ReportKind.CYCLES, "", lambda: cycle_data)
    except Exception as exc:
        # Yesterday's due rows and learned cycles stay; the customer results go on without.
        reason = outcome.failed(ReportKind.CYCLES, exc)
        outcome.reports[(ReportKind.CYCLES, "")] = validity.unavailable("failed", reason)
    if background is not None and due is not None:
        background.start("due", _due_bulk(organisation, as_of, due))
    clock.lap("cycles")
    model = _clv(frames, as_of, outcome)
    clock.lap("clv")
    table = results.customer_results(core, due if due is not None else _NO_DUE, model.predictions)
    if background is not None:
        background.start("customers", _customers_bulk(organisation, as_of, table))
    stores = list(Store.objects.filter(organisation=organisation).values_list("pk", flat=True))
    staff = list(User.objects.filter(organisation=organisation).values_list("pk", flat=True))
    outcome.report(ReportKind.BASKET, "", lambda: reports.basket_report(frames, as_of))
    outcome.report(
        ReportKind.TRAFFIC_PROFIT, "", lambda: reports.traffic_profit_report(frames, as_of)
    )
    outcome.report(ReportKind.CLV, "", lambda: model.report)
    scopes = ["", *(f"store:{pk}" for pk in stores), *(f"owner:{pk}" for pk in staff)]
    for kind, build in (
        (ReportKind.KPIS, reports.kpi_reports),
        (ReportKind.COHORTS, reports.cohort_reports),
        (ReportKind.CATEGORIES, reports.category_performance),
    ):
        outcome.reports_of(kind, lambda build=build: build(frames, as_of, stores, staff), scopes)  # type: ignore[misc]
    managers = list(
        User.objects.filter(organisation=organisation, role=Role.MANAGER).values_list(
            "pk", "store_id"
        )
    )
    # The dashboard's reports also have one scope per store manager (what she counts live).
    viewer_scopes = [*scopes, *(reports.manager_scope(pk) for pk, _store in managers)]
    outcome.reports_of(
        ReportKind.FUNNEL,
        lambda: reports.funnel_reports(table, frames.customers, stores, staff, managers),
        viewer_scopes,
    )
    outcome.reports_of(
        ReportKind.TRENDS,
        lambda: trends.trend_reports(frames, as_of, organisation.pk, stores, staff, managers),
        viewer_scopes,
    )
    clock.lap("reports")
    return table, due, category_stats, outcome, source


# The due rows' columns, for a refresh whose cycles could not be computed.
_NO_DUE = pl.DataFrame(
    schema={"customer_id": pl.Int64, "category_id": pl.Int64, "due_now": pl.Boolean}
)


def refresh_organisation(
    organisation: Organisation, as_of: dt.date | None = None, *, unless_settled: bool = False
) -> RefreshRun | None:
    """Recompute and store every analytics result of an organisation as of a date (default today).

    Returns the finished RefreshRun, or None when another refresh of the organisation is
    running (that one will write the same results) or, with `unless_settled` (the nightly
    tick), when the as-of is already done or has failed too often. The customer results must
    succeed (the run fails otherwise); each report is computed and written on its own, and a
    report that fails is stored as unavailable and listed in the run's `report_errors`.
    """
    as_of = as_of or local_today(organisation)
    with _recomputable_commits():  # the claim too: another worker sees it once committed
        run = _claim(organisation, as_of, unless_settled=unless_settled)
        if run is None:
            logger.info(
                "analytics refresh of organisation %s skipped: already running or done",
                organisation.pk,
            )
            return None
        _refresh(organisation, as_of, run)
    run.refresh_from_db()
    return run


@contextmanager
def _recomputable_commits() -> Iterator[None]:
    """On PostgreSQL, the refresh's own commits do not wait for their WAL to reach the disk.

    Everything a refresh writes can be computed again (its claim is seen by other workers
    once committed, flushed or not), and a small shop's refresh commits seven or eight times (each write its own transaction, so order entry never waits long behind
    it): on a busy disk those flushes were a large part of its time. A crash can lose only the
    last moments' commits, in order (the WAL is written in sequence): never the results
    without the earlier ones, nor the run marked done without its results, so at worst the
    organisation is refreshed again. The connection's own setting is restored afterwards.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('synchronous_commit', 'off', false)")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [before])
        except DatabaseError as exc:  # a broken connection: the refresh's own error matters
            logger.warning("analytics refresh: synchronous_commit not restored (%s)", exc)


def _refresh(organisation: Organisation, as_of: dt.date, run: RefreshRun) -> None:
    """Compute and store the results of a claimed refresh; mark its run done (or failed)."""
    clock = _Clock()
    # A large shop's rows are written while the rest is computed (`_Background`): by the
    # child process on SQLite, on a second connection on PostgreSQL; a small shop's in turn
    # once all is computed.
    overlap = _overlapped(organisation)
    written: dict[str, float] = {}
    try:
        with _Background() if overlap else nullcontext() as background:
            try:
                table, due, category_stats, outcome, source = _compute(
                    organisation, as_of, clock, background
                )
                customers_written = background.written("customers") if background else None
                _write_customers(organisation, as_of, table, customers_written)
                clock.lap("write_customers")
                if due is not None and category_stats is not None:
                    due_written = background.written("due") if background else None
                    _write_due(organisation, as_of, due, due_written)
                    clock.lap("write_due")
                    _write_learned_cycles(organisation, category_stats)
                _write_reports(organisation, as_of, outcome)
                clock.lap("write_reports")
            finally:
                if background is not None:
                    written = background.seconds
    except Exception as exc:
        RefreshRun.objects.filter(pk=run.pk).update(
            status=RefreshRun.Status.FAILED,
            finished_at=timezone.now(),
            detail={
                "error": f"{type(exc).__name__}: {exc}",
                "timings": clock.timings,
                "background_writes": written,
            },
        )
        raise
    clv_report = outcome.reports.get((ReportKind.CLV, ""), {})
    RefreshRun.objects.filter(pk=run.pk).update(
        status=RefreshRun.Status.DONE,
        finished_at=timezone.now(),
        customers=table.height,
        detail={
            "timings": clock.timings,
            "seconds": round(sum(clock.timings.values()), 3),
            # The child's writes, done during the steps above (write_* is then what was left
            # to wait for).
            "background_writes": written,
            "customers_from": source,
            "due_rows": due.height if due is not None else None,
            "clv_ok": clv_report.get("ok", False),
            "clv_error": clv_report.get("error"),
            "clv_warnings": clv_report.get("warnings", []),
            "report_errors": outcome.errors,
        },
    )


def refresh_due_organisations(now: dt.datetime | None = None) -> list[int]:
    """Refresh every organisation whose local time has passed 02:30 and has no result for today.

    Called every few minutes; catching up after downtime falls out of "no result for today".
    """
    now = now or timezone.now()
    done = []
    for organisation in Organisation.objects.all().order_by("pk"):
        local = now.astimezone(ZoneInfo(organisation.time_zone))
        if local.time() < NIGHTLY_AT:
            continue
        today = local.date()
        # A cheap look first; the claim looks again once it holds the organisation, so two
        # workers ticking together never both refresh it (one done twice, by turns).
        if _settled(organisation, today):
            continue
        try:
            if refresh_organisation(organisation, today, unless_settled=True) is not None:
                done.append(organisation.pk)
        except Exception:
            # One organisation's bad data must not stop the others' nightly refresh.
            logger.exception("analytics refresh of organisation %s failed", organisation.pk)
    return done
