"""The process's Prometheus metrics (https://prometheus.io/docs/instrumenting/writing_exporters/).

Counters and histograms are updated where things happen (the gateway times each request;
admission counts its Redis round trips); gauges of pools and queues are read when
``/metrics`` is scraped, so they cost nothing between scrapes. Each server process has its
own registry; with several processes behind one port, ``PROMETHEUS_MULTIPROC_DIR`` makes
every scrape sum the request histograms of all of them (docs/observability.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

registry = CollectorRegistry()

REQUEST_SECONDS = Histogram(
    "hangar_http_request_duration_seconds",
    "Parse API requests by route class (first path segment) and status, and how long they took.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=registry,
)
# Read from the broker at each scrape (celery_queue_lengths_read), reported by ProcessCollector.
_queue_lengths: dict[str, int] = {}

# The first path segment names the route class; anything else (a made-up path) is "other", so a
# client cannot create a time series per URL it invents.
ROUTE_CLASSES = frozenset(
    {
        "classes", "users", "login", "logout", "sessions", "roles", "files", "functions", "jobs", "hooks",
        "push", "installations", "events", "schemas", "config", "batch", "aggregate", "purge", "serverInfo",
        "health", "requestPasswordReset", "verificationEmailRequest", "push_audiences", "cloud_code", "scriptlog",
        "upgradeToRevocableSession", "me", "apps",
    }
)  # fmt: skip


def route_class(path: str) -> str:
    """``/parse/classes/Post/abc`` -> ``classes``; unknown first segments -> ``other``."""
    segments = path.split("/", 3)  # "", "parse", "classes", ...
    first = segments[2] if len(segments) > 2 else ""
    return first if first in ROUTE_CLASSES else "other"


# The histogram's child per label set, kept here: ``labels()`` takes a lock and builds a key each
# time, which was most of the cost of observing a request. Bounded: route classes x methods x statuses.
_children: dict[tuple[str, str, int], Any] = {}


def request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        child = REQUEST_SECONDS.labels(route, method if method in _METHODS else "OTHER", str(status))
        if len(_children) < 10_000:
            _children[key] = child
    child.observe(seconds)


_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"})


class ProcessCollector(Collector):
    """Sizes read from this process's pools and hubs at scrape time (the event loop serving /metrics),
    and the broker's queue lengths read just before."""

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the pools live in the server's loop: outside one there is nothing to read
            return
        yield from _queue_families()
        yield from _admission_families()
        yield from _db_pool_families()
        yield from _sandbox_families()
        yield from _live_query_families()
        yield from _analytics_families()


def _queue_families() -> Iterable[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        "hangar_celery_queue_length", "Messages waiting in each Celery queue (Redis broker).", labels=["queue"]
    )
    for queue, length in sorted(_queue_lengths.items()):
        family.add_metric([queue], length)
    yield family


def _admission_families() -> Iterable[CounterMetricFamily]:
    from hangar.admission.batch import admission_counts

    requests, round_trips = admission_counts()
    yield CounterMetricFamily(
        "hangar_admission_requests", "Requests admission counted (keys, versions, rate limit, metering).",
        value=requests,
    )  # fmt: skip
    yield CounterMetricFamily(
        "hangar_admission_redis_round_trips",
        "Redis round trips admission made (one per batch of requests that arrived together).", value=round_trips,
    )  # fmt: skip


def _db_pool_families() -> Iterable[GaugeMetricFamily]:
    from hangar.db_pool import pool_stats

    stats = pool_stats()
    family = GaugeMetricFamily(
        "hangar_db_pool_connections", "Data-plane PostgreSQL connections of this process by state.", labels=["state"]
    )
    family.add_metric(["in_use"], stats.in_use)
    family.add_metric(["idle"], stats.idle)
    yield family
    yield GaugeMetricFamily(
        "hangar_db_pool_waiting", "Requests waiting for a data-plane connection.", value=stats.waiting
    )


def _sandbox_families() -> Iterable[GaugeMetricFamily]:
    from hangar.cloudcode.pool import pool_sizes

    idle, busy = pool_sizes()
    family = GaugeMetricFamily(
        "hangar_sandbox_workers", "Cloud-code sandbox workers of this process.", labels=["state"]
    )
    family.add_metric(["idle"], idle)
    family.add_metric(["busy"], busy)
    yield family


def _live_query_families() -> Iterable[GaugeMetricFamily]:
    from hangar.realtime.hub import local_connection_count

    yield GaugeMetricFamily(
        "hangar_livequery_connections", "LiveQuery WebSocket connections held by this process.",
        value=local_connection_count(),
    )  # fmt: skip


def _analytics_families() -> Iterable[GaugeMetricFamily]:
    from hangar.analytics.buffer import buffer_stats

    pending, written = buffer_stats()
    yield GaugeMetricFamily("hangar_analytics_events_pending", "Events buffered, not yet written.", value=pending)
    yield GaugeMetricFamily(
        "hangar_analytics_events_written", "Events this process has written (since it started).", value=written
    )


_process_collector = ProcessCollector()
registry.register(_process_collector)


def celery_queues() -> list[str]:
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    named = {route.get("queue") for route in routes.values() if isinstance(route, dict)}
    return sorted({getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"), *(q for q in named if q)})


async def celery_queue_lengths_read() -> None:
    """Read the broker's queue lengths into the gauge (LLEN per queue, one pipelined round trip)."""
    broker = str(settings.CELERY_BROKER_URL)
    if broker != settings.REDIS_URL and not broker.startswith("redis+socket://"):
        return  # another broker (RabbitMQ, another Redis) is watched with its own exporter
    from hangar.redis_async import get_redis

    queues = celery_queues()
    try:
        async with asyncio.timeout(settings.HANGAR_REDIS_TIMEOUT_SECONDS):
            async with get_redis().pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.llen(queue)
                lengths = await pipe.execute()
    except Exception:  # a scrape during an outage still reports everything else
        log.warning("Celery queue lengths not read: Redis unavailable")
        return
    _queue_lengths.clear()
    _queue_lengths.update({queue: int(length) for queue, length in zip(queues, lengths, strict=True)})


def metrics_text() -> bytes:
    """The exposition. With several web processes behind one port (uvicorn ``--workers``) and
    ``PROMETHEUS_MULTIPROC_DIR`` set, the request histograms are summed over every process
    (prometheus_client's multiprocess mode); the sizes are the scraped process's own."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(registry)
    from prometheus_client import multiprocess

    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    merged.register(_process_collector)
    return generate_latest(merged)
