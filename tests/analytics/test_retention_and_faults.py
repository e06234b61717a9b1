"""Raw events past their plan's retention are deleted (rollups kept); a flush the database refuses keeps its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from hangar.analytics.buffer import EventBuffer, PendingEvent
from hangar.analytics.models import Event, EventRollup
from hangar.analytics.rollups import events_retention, events_rollup
from tenants.models import Plan
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def _insert(tenant_pk: int, name: str, days_ago: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_event (app_id, name, at) VALUES (%s, %s, now() - make_interval(secs => %s))",
            [tenant_pk, name, days_ago * 86400],
        )


def test_retention_follows_each_plan_and_keeps_the_rollups(tenant_a: Tenant, tenant_b: Tenant):
    plan = Plan.objects.create(name="short-memory", requests_per_second=0, event_retention_days=7)
    tenant_a.organization.plan = plan
    tenant_a.organization.save(update_fields=["plan"])
    _insert(tenant_a.app.pk, "Old", 10)  # past A's 7 days
    _insert(tenant_a.app.pk, "Recent", 3)
    _insert(tenant_b.app.pk, "Old", 10)  # B has no plan: the platform's 90 days
    _insert(tenant_b.app.pk, "Ancient", 100)
    _insert(987654, "Orphan", 1)  # an app that no longer exists
    events_rollup()
    deleted = events_retention(default_days=90)
    assert deleted == 3
    remaining = sorted(Event.objects.values_list("app_id", "name"))
    assert remaining == sorted([(tenant_a.app.pk, "Recent"), (tenant_b.app.pk, "Old")])
    assert EventRollup.objects.filter(app=tenant_a.app, name="Old", period="day").get().count == 1


async def test_a_flush_the_database_refuses_keeps_its_events_for_the_next(tenant_a: Tenant):
    """PostgreSQL really refuses the write (the data-plane role loses INSERT); nothing is lost, and the
    events are written, once, when it accepts again."""

    def privilege(statement: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    buffer = EventBuffer(flush_events=1000, flush_seconds=3600, max_pending=1000)
    for index in range(3):
        buffer.add(PendingEvent(tenant_a.app.pk, f"E{index}", {}, "", "", datetime.now(UTC) - timedelta(seconds=1)))
    await sync_to_async(privilege)("REVOKE INSERT ON analytics_event FROM hangar_dataplane")
    try:
        with pytest.raises(Exception, match="permission denied"):
            await buffer.flush()
        assert len(buffer) == 3
    finally:
        await sync_to_async(privilege)("GRANT INSERT ON analytics_event TO hangar_dataplane")
    buffer.add(PendingEvent(tenant_a.app.pk, "E3", {}, "", "", datetime.now(UTC)))
    assert await buffer.flush() == 4
    names = [e.name async for e in Event.objects.filter(app_id=tenant_a.app.pk).order_by("id")]
    assert names == ["E0", "E1", "E2", "E3"]  # in arrival order, each once
    if buffer._timer is not None:
        buffer._timer.cancel()
