"""Usage per app, copied into ``UsageRecord`` rows once a minute by Celery (``usage_collect``).

* requests: counted at admission in Redis (``hangar.analytics.usage_keys``), one hash per app
  and hour; each run copies the hours still in Redis (two days) with their absolute values;
* cloud-code invocations, their run time (wall clock) and their CPU time (measured by the
  sandboxed worker itself): added to the same hashes when the invocation logs are flushed
  (hangar.cloudcode.logs), off the request path;
* build time: each ended build's run time (claimed to finished, its last attempt), counted from
  the builds service's own records into the hour it ended in;
* messages sent per channel: counted from the messaging service's records (SMS and email
  requested and not failed, push deliveries sent);
* events: the hourly rollups' totals;
* database bytes (the app's partitions), file bytes (the files service's own counter) and
  LiveQuery connections (the realtime processes' counts): sampled into the current hour.

Every write sets an absolute value, so a run repeated or retried changes nothing twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import connection

from hangar.analytics.usage_keys import USAGE_HOUR_PREFIX
from hangar.datastore.partitions import object_partition, relation_partition
from hangar.realtime.stats import app_live_stats
from tenants.models import App

log = logging.getLogger(__name__)

_UPSERT = """
INSERT INTO analytics_usagerecord (app_id, metric, hour, value)
SELECT v.app_id, v.metric, v.hour, v.value
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::bigint[]) AS v(app_id, metric, hour, value)
WHERE EXISTS (SELECT 1 FROM tenants_app a WHERE a.id = v.app_id)
ON CONFLICT (app_id, metric, hour) DO UPDATE SET value = EXCLUDED.value
"""
_EVENTS = """
INSERT INTO analytics_usagerecord (app_id, metric, hour, value)
SELECT app_id, 'events', bucket, sum(count) FROM analytics_eventrollup
WHERE period = 'hour' AND bucket >= now() - interval '2 days'
GROUP BY app_id, bucket
ON CONFLICT (app_id, metric, hour) DO UPDATE SET value = EXCLUDED.value
"""

# Messages by the hour they were requested (SMS, email) or delivered (push), per channel; recounted
# over two days each run, from the messaging service's own records.
_MESSAGES = """
INSERT INTO analytics_usagerecord (app_id, metric, hour, value)
SELECT app_id, 'messages_' || channel, date_trunc('hour', created_at), count(*) FROM messaging_message
WHERE created_at >= date_trunc('hour', now() - interval '2 days') AND status <> 'failed'
GROUP BY app_id, channel, date_trunc('hour', created_at)
ON CONFLICT (app_id, metric, hour) DO UPDATE SET value = EXCLUDED.value
"""
_PUSHES = """
INSERT INTO analytics_usagerecord (app_id, metric, hour, value)
SELECT app_id, 'messages_push', date_trunc('hour', updated_at), count(*) FROM messaging_pushdelivery
WHERE state = 'sent' AND updated_at >= date_trunc('hour', now() - interval '2 days')
GROUP BY app_id, date_trunc('hour', updated_at)
ON CONFLICT (app_id, metric, hour) DO UPDATE SET value = EXCLUDED.value
"""

# Build time in the hour each build ended (succeeded, failed, cancelled or timed out), recounted over
# two days each run from the builds service's records. A build run again after its agent vanished
# counts its last attempt (the claim resets started_at).
_BUILDS = """
INSERT INTO analytics_usagerecord (app_id, metric, hour, value)
SELECT app_id, 'build_ms', date_trunc('hour', finished_at),
       sum(GREATEST(0, (extract(epoch FROM finished_at - started_at) * 1000)::bigint))
FROM builds_build
WHERE finished_at >= date_trunc('hour', now() - interval '2 days') AND started_at IS NOT NULL
GROUP BY app_id, date_trunc('hour', finished_at)
ON CONFLICT (app_id, metric, hour) DO UPDATE SET value = EXCLUDED.value
"""

Row = tuple[int, str, datetime, int]


def _redis() -> redis.Redis:
    return redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=5, socket_connect_timeout=5)


_COUNTED_FIELDS = ("requests", "function_invocations", "function_ms", "function_cpu_ms")


def _counted_rows() -> list[Row]:
    """The per-app hour hashes in Redis: requests (admission) and invocations (the cloud-code logs' flush)."""
    client = _redis()
    try:
        keys = list(client.scan_iter(match=f"{USAGE_HOUR_PREFIX}*", count=1000))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        hashes = pipe.execute()
    finally:
        client.close()
    rows: list[Row] = []
    for key, fields in zip(keys, hashes, strict=True):
        app_pk, _, epoch_hour = key.decode().removeprefix(USAGE_HOUR_PREFIX).partition(":")
        if not (app_pk.isdigit() and epoch_hour.isdigit()):
            continue
        hour = datetime.fromtimestamp(int(epoch_hour) * 3600, UTC)
        for field in _COUNTED_FIELDS:
            value = fields.get(field.encode())
            if value is not None:
                rows.append((int(app_pk), field, hour, int(value)))
    return rows


def _sampled_rows(hour: datetime) -> list[Row]:
    rows: list[Row] = []
    apps = list(App.objects.filter(status=App.Status.ACTIVE).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        for app_pk in apps:
            cursor.execute(
                "SELECT COALESCE(pg_total_relation_size(to_regclass(%s)), 0)"
                " + COALESCE(pg_total_relation_size(to_regclass(%s)), 0)",
                [object_partition(app_pk), relation_partition(app_pk)],
            )
            rows.append((app_pk, "database_bytes", hour, int(cursor.fetchone()[0])))  # type: ignore[index]
        cursor.execute("SELECT app_id, bytes FROM files_fileusage WHERE app_id = ANY(%s)", [apps])
        stored = dict(cursor.fetchall())  # an app that never stored a file has no row: 0 bytes
        rows.extend((app_pk, "file_bytes", hour, int(stored.get(app_pk, 0))) for app_pk in apps)
    for app_pk in apps:
        try:
            connections = int(app_live_stats(app_pk)["connections"])
        except redis.RedisError:
            log.warning("LiveQuery connections of app %s not sampled: Redis unavailable", app_pk)
            continue
        rows.append((app_pk, "live_connections", hour, connections))
    return rows


def _upsert(rows: list[Row]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT, [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]]
        )


def usage_collect(*, now: datetime | None = None) -> int:
    """Copy the counted and sampled usage of every app into UsageRecord rows; returns the rows written."""
    hour = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    rows = _counted_rows() + _sampled_rows(hour)
    _upsert(rows)
    written = len(rows)
    with connection.cursor() as cursor:
        for statement in (_EVENTS, _MESSAGES, _PUSHES, _BUILDS):
            cursor.execute(statement)
            written += cursor.rowcount
    return written
