"""``analytics_event`` is range-partitioned by ``at``, one partition per UTC day (migration 0002).

The maintenance task (``analytics.retention``, hourly) creates the partitions of the coming
days ahead of their events, and drops whole partitions once every app's retention has passed
them: retention is a ``DROP TABLE`` of a day, not a ``DELETE`` of its rows. A plan that keeps
events for less than the longest retention still has its older rows deleted app by app
(``hangar.analytics.rollups.events_retention``).

An event whose day has no partition (the task has not run for a week, a clock far off) lands
in the default partition rather than failing its flush; when the partition of its day is
created, the rows of that day move out of the default partition first, so it stays small and
attaching a partition stays cheap.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

PARENT = "analytics_event"
DEFAULT_PARTITION = "analytics_event_default"
DAYS_AHEAD = 7  # partitions created ahead of their events
# Events are accepted up to 30 days late (hangar.analytics.ingest.MAX_PAST): their partitions are
# kept at least that long whatever the retention, so a late event never falls into the default.
INGEST_WINDOW_DAYS = 31
_NAME = re.compile(r"^analytics_event_p(\d{8})$")


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def partition_days(cursor: Any) -> set[date]:
    """The days that have a partition of their own."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [PARENT],
    )
    days = set()
    for (name,) in cursor.fetchall():
        found = _NAME.match(name)
        if found:
            days.add(datetime.strptime(found.group(1), "%Y%m%d").replace(tzinfo=UTC).date())
    return days


def partition_create(cursor: Any, day: date) -> int:
    """Create ``day``'s partition, moving that day's rows out of the default partition; returns rows moved.

    Run in a transaction: the table is built and filled first, then attached (PostgreSQL checks
    the default partition holds nothing of the day any more, a scan of a table kept small).
    """
    name, start, end = partition_name(day), day.isoformat(), (day + timedelta(days=1)).isoformat()
    bounds = f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE at >= %s AND at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [f"{start} 00:00:00+00", f"{end} 00:00:00+00"],
    )
    moved = int(cursor.rowcount or 0)
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}")
    return moved


def partitions_ensure(cursor: Any, *, today: date, days_back: int = 0, days_ahead: int = DAYS_AHEAD) -> list[date]:
    """Create the missing partitions from ``today - days_back`` to ``today + days_ahead``; returns the days created."""
    existing = partition_days(cursor)
    created = []
    for offset in range(-days_back, days_ahead + 1):
        day = today + timedelta(days=offset)
        if day not in existing:
            partition_create(cursor, day)
            created.append(day)
    return created


def partitions_drop_before(cursor: Any, *, first_kept: date) -> int:
    """Drop every day's partition older than ``first_kept``; returns the events they held."""
    dropped = 0
    for day in sorted(partition_days(cursor)):
        if day >= first_kept:
            break
        name = partition_name(day)
        cursor.execute(f"SELECT count(*) FROM {name}")
        dropped += int(cursor.fetchone()[0])
        cursor.execute(f"DROP TABLE {name}")
    return dropped
