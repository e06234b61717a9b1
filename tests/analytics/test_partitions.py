"""Raw events live in one partition per UTC day: created ahead, dropped whole past every retention,
and the migration that introduced them kept the events already stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from hangar.analytics.buffer import EventBuffer, PendingEvent
from hangar.analytics.models import Event
from hangar.analytics.partitions import DEFAULT_PARTITION, partition_create, partition_days, partition_name
from hangar.analytics.rollups import events_retention
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def _insert(app_pk: int, name: str, at: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_event (app_id, name, at) VALUES (%s, %s, %s) RETURNING id", [app_pk, name, at]
        )
        return int(cursor.fetchone()[0])


def _table_of(event_id: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM analytics_event WHERE id = %s", [event_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _days() -> set:
    with connection.cursor() as cursor:
        return partition_days(cursor)


async def test_a_flushed_event_is_stored_in_the_partition_of_its_day(tenant_a: Tenant):
    at = datetime.now(UTC) - timedelta(days=3)
    buffer = EventBuffer(flush_events=1000, flush_seconds=3600, max_pending=1000)
    buffer.add(PendingEvent(tenant_a.app.pk, "Late", {"k": "tab\there, back\\slash"}, "", "", at))
    assert await buffer.flush() == 1
    event = await Event.objects.aget(app_id=tenant_a.app.pk, name="Late")
    assert event.dimensions == {"k": "tab\there, back\\slash"}  # COPY's escaping round-trips
    assert await _async_table_of(event.id) == partition_name(at.date())


async def _async_table_of(event_id: int) -> str | None:
    from asgiref.sync import sync_to_async

    return await sync_to_async(_table_of)(event_id)


def test_retention_creates_the_coming_days_ahead_and_drops_old_days_whole(tenant_a: Tenant):
    today = datetime.now(UTC).date()
    ancient_day = today - timedelta(days=200)
    ancient = _insert(
        tenant_a.app.pk, "Ancient", datetime(ancient_day.year, ancient_day.month, ancient_day.day, 12, tzinfo=UTC)
    )
    assert _table_of(ancient) == DEFAULT_PARTITION  # no partition for that day: the default holds it
    with transaction.atomic(), connection.cursor() as cursor:
        assert partition_create(cursor, ancient_day) == 1  # the day's rows move out of the default
    assert _table_of(ancient) == partition_name(ancient_day)
    recent = _insert(tenant_a.app.pk, "Recent", datetime.now(UTC))

    removed = events_retention(default_days=90, today=today + timedelta(days=20))

    assert removed >= 1
    days = _days()
    assert ancient_day not in days  # dropped whole
    assert _table_of(ancient) is None
    assert _table_of(recent) == partition_name(datetime.now(UTC).date())  # still kept
    assert {today + timedelta(days=20 + n) for n in range(8)} <= days  # a week ahead of the run


def test_the_data_plane_role_cannot_write_into_a_partition_directly(tenant_a: Tenant):
    """Only the parent, under row-level security, takes the data plane's rows: a partition or the default
    partition written directly would skip the policy."""
    for table in (partition_name(datetime.now(UTC).date()), DEFAULT_PARTITION):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE hangar_dataplane")
            cursor.execute("SELECT set_config('hangar.app_id', %s, true)", [str(tenant_a.app.pk)])
            with pytest.raises(DatabaseError, match="permission denied"):
                cursor.execute(f"INSERT INTO {table} (app_id, name, at) VALUES (%s, 'x', now())", [tenant_a.app.pk])


def test_the_migration_keeps_the_events_already_stored(tenant_a: Tenant):
    executor = MigrationExecutor(connection)
    executor.migrate([("analytics", "0001_initial")])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'analytics_event'")
            assert cursor.fetchone()[0] == "r"  # a plain table again
        old = datetime.now(UTC) - timedelta(days=60)
        ids = [_insert(tenant_a.app.pk, "Before", old), _insert(tenant_a.app.pk, "Before", datetime.now(UTC))]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("analytics"))
    assert sorted(Event.objects.filter(name="Before").values_list("id", flat=True)) == sorted(ids)
    assert _table_of(ids[0]) == partition_name(old.date())  # a day with events got its partition
    after = _insert(tenant_a.app.pk, "After", datetime.now(UTC))
    assert after > max(ids)  # the ids go on from where they were
