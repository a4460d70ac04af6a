"""Prometheus metrics at /metrics: requests (per process, or across gunicorn processes when
PROMETHEUS_MULTIPROC_DIR is set), jobs run by this process, and — read from the database and the
queue at scrape time — queue depth, outbox messages by state, heartbeat and backup age.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from huitouke.messaging.models import Message
from huitouke.ops.health import last_backup_age, queue_depth
from huitouke.ops.models import Heartbeat

REQUESTS = Counter(
    "huitouke_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "huitouke_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOBS = Counter("huitouke_jobs_total", "Background jobs finished", ["task", "outcome"])


def _route(request: HttpRequest) -> str:
    # The URL pattern's name, never the raw path: ids in paths would make unbounded label sets.
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "unmatched"
    return match.view_name or "unnamed"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        REQUESTS.labels(request.method or "-", route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


class StateCollector(Collector):
    """Gauges read at scrape time, the same for every process."""

    def collect(self) -> Iterator[Metric]:
        depth = queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "huitouke_queue_depth", "Jobs waiting in the queue", value=depth
            )
        outbox = GaugeMetricFamily(
            "huitouke_outbox_messages", "Outbox messages by state", labels=["state"]
        )
        for row in Message.objects.values("status").annotate(n=Count("id")).order_by("status"):
            outbox.add_metric([row["status"]], row["n"])
        yield outbox
        beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
        if beat is not None:
            yield GaugeMetricFamily(
                "huitouke_worker_heartbeat_age_seconds",
                "Seconds since a worker last ran its heartbeat job",
                value=(timezone.now() - beat).total_seconds(),
            )
        age = last_backup_age()
        if age is not None:
            yield GaugeMetricFamily(
                "huitouke_last_backup_age_seconds",
                "Seconds since the last backup",
                value=age.total_seconds(),
            )


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Only in multi-process mode: the module reads PROMETHEUS_MULTIPROC_DIR when imported.
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.MultiProcessCollector(registry)  # sums every gunicorn process
        output = generate_latest(registry)
    else:
        output = generate_latest(DEFAULT_REGISTRY)
    state = CollectorRegistry()
    state.register(StateCollector())
    return output + generate_latest(state)


def count_job(task_name: str, outcome: str) -> None:
    JOBS.labels(task_name, outcome).inc()


__all__ = ["CONTENT_TYPE_LATEST", "MetricsMiddleware", "count_job", "render_metrics"]
