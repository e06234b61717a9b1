"""Hourly and daily event counts per app, event name and dimensions, recomputed from raw events.

Each run finds the (app, hour) buckets that received events since the last run (by
``ingested_at``, the time each flush transaction started) and recomputes those buckets
whole from the raw events, then the days they belong to from the hours. Recomputing, not
adding, is what makes a run idempotent: a retried or duplicated task writes the same
numbers. A flush transaction may commit a little after it started, so each run looks back
``GRACE`` before where the previous one stopped (far above the data plane's deadline for
one unit of work), and late commits are still counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from hangar.analytics.models import RollupState
from hangar.analytics.partitions import INGEST_WINDOW_DAYS, partitions_drop_before, partitions_ensure

GRACE = timedelta(minutes=2)
_STATE = "events"

# Only apps that still exist: a deleted app's events wait for the retention task, and must not
# fail the whole run on the rollups' foreign key.
_TOUCHED = """
CREATE TEMP TABLE analytics_touched ON COMMIT DROP AS
SELECT DISTINCT e.app_id, date_trunc('hour', e.at) AS hour
FROM analytics_event e JOIN tenants_app a ON a.id = e.app_id
WHERE e.ingested_at >= %(since)s AND e.ingested_at < %(until)s
"""
_HOURS = """
INSERT INTO analytics_eventrollup (app_id, period, bucket, name, dimensions, count)
SELECT e.app_id, 'hour', date_trunc('hour', e.at), e.name, e.dimensions, count(*)
FROM analytics_event e JOIN analytics_touched t
  ON e.app_id = t.app_id AND e.at >= t.hour AND e.at < t.hour + interval '1 hour'
GROUP BY 1, 3, 4, 5
ON CONFLICT (app_id, period, bucket, name, dimensions) DO UPDATE SET count = EXCLUDED.count
"""
_DAYS = """
INSERT INTO analytics_eventrollup (app_id, period, bucket, name, dimensions, count)
SELECT r.app_id, 'day', date_trunc('day', r.bucket), r.name, r.dimensions, sum(r.count)
FROM analytics_eventrollup r
JOIN (SELECT DISTINCT app_id, date_trunc('day', hour) AS day FROM analytics_touched) d
  ON r.app_id = d.app_id AND r.period = 'hour' AND r.bucket >= d.day AND r.bucket < d.day + interval '1 day'
GROUP BY 1, 3, 4, 5
ON CONFLICT (app_id, period, bucket, name, dimensions) DO UPDATE SET count = EXCLUDED.count
"""


def events_rollup(*, now: datetime | None = None) -> int:
    """Recompute the hours and days that received events since the last run; returns the buckets touched."""
    with transaction.atomic(), connection.cursor() as cursor:
        # One run at a time (beat may overlap a slow run): the second waits, then finds little to do.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('analytics.rollup'))")
        cursor.execute("SELECT now()")
        until = now or cursor.fetchone()[0]  # type: ignore[index]
        state = RollupState.objects.filter(name=_STATE).first()
        since = state.ingested_before - GRACE if state else datetime.min.replace(tzinfo=until.tzinfo)
        cursor.execute(_TOUCHED, {"since": since, "until": until})
        cursor.execute("SELECT count(*) FROM analytics_touched")
        touched = int(cursor.fetchone()[0])  # type: ignore[index]
        if touched:
            cursor.execute(_HOURS)
            cursor.execute(_DAYS)
        RollupState.objects.update_or_create(name=_STATE, defaults={"ingested_before": until})
    return touched


def events_retention(*, default_days: int, today: date | None = None) -> int:
    """Keep the event partitions ahead of time and delete raw events past their plan's retention.

    Days older than every plan keeps (and than the ingestion window) are dropped whole
    (hangar.analytics.partitions); an app whose plan keeps less has its older rows deleted, as
    has every event of an app that is gone. Rollups are kept: the charts outlive the raw events.
    Returns the events removed.
    """
    today = today or datetime.now(UTC).date()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('analytics.retention'))")  # one run at a time
        partitions_ensure(cursor, today=today)
        cursor.execute("SELECT COALESCE(max(event_retention_days), 0) FROM tenants_plan")
        longest = max(default_days, int(cursor.fetchone()[0]), INGEST_WINDOW_DAYS)  # type: ignore[index]
        removed = partitions_drop_before(cursor, first_kept=today - timedelta(days=longest))
        cursor.execute(
            """
            DELETE FROM analytics_event e
            USING tenants_app a JOIN tenants_organization o ON o.id = a.organization_id
                  LEFT JOIN tenants_plan p ON p.id = o.plan_id
            WHERE e.app_id = a.id
              AND e.at < now() - make_interval(days => COALESCE(NULLIF(p.event_retention_days, 0), %s))
            """,
            [default_days],
        )
        removed += cursor.rowcount
        cursor.execute(
            "DELETE FROM analytics_event e WHERE NOT EXISTS (SELECT 1 FROM tenants_app a WHERE a.id = e.app_id)"
        )
        return removed + cursor.rowcount
