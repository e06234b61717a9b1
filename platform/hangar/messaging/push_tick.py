"""The engine's periodic tick: what is due in the database gets queued, so no send depends on a lost message.

Every ``push-campaigns-tick`` (a beat task, every ``HANGAR_PUSH_TICK_SECONDS``, 10 s) it:
- queues the run of each campaign that is pending, scheduled and due (a local-time send
  from its earliest time zone on), or running with nobody holding its resolution lease
  (its resolver died) or fully resolved (so that it is finished);
- queues batches for queued deliveries that are due and whose batch was never queued (a
  local-time send's later time zones) or was queued long ago and not taken
  (``HANGAR_PUSH_REQUEUE_AFTER_SECONDS``: a message lost with the broker);
- forgets delivery records of ended sends after ``HANGAR_PUSH_DELIVERY_RETENTION_DAYS``
  (the campaign's counts stay on its ``_PushStatus`` row);
- gives back to the queue deliveries claimed so long ago that their task cannot still be
  running (past the batch task's time limit): they are resent under the same delivery id.

Due times live in the database (``_PushStatus.pushTime``, ``messaging_pushdelivery.due_at``),
never only in Celery countdowns, so scheduled and local-time sends survive restarts of every
process. The tick reads across apps on the control plane's connection (the tables' owner),
as cloud code's schedules tick does; one tick at a time runs, claimed with Redis SET NX.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from hangar.messaging.dispatch import BatchOrder, batch_order_send
from hangar.messaging.push_status import campaign_from_row

MAX_DELIVERIES_PER_TICK = 50_000
# A batch task is killed after BATCH_TIME_LIMIT (hangar.messaging.tasks); a claim older than
# this belongs to no living task.
BATCH_TIME_LIMIT = 600
STALE_CLAIM = timedelta(seconds=BATCH_TIME_LIMIT + 300)


@dataclass(frozen=True)
class TickResult:
    campaigns: list[tuple[int, str]]
    batches: list[BatchOrder]
    released: int


_CAMPAIGNS_SQL = """
SELECT o.app_id, o.object_id, o.data, r.resolved, r.lease_until
FROM datastore_object o
LEFT JOIN messaging_pushcampaignrun r ON r.app_id = o.app_id AND r.campaign_id = o.object_id
WHERE o.app_id IN ({apps}) AND o.class_name = '_PushStatus'
  AND o.data->>'status' IN ('pending', 'scheduled', 'running')
ORDER BY o.app_id, o.object_id
"""
# Apps whose _PushStatus rows one statement reads. datastore_object is partitioned per app: a
# statement over every app locks every partition and its indexes at once, which runs out of
# PostgreSQL's lock table (max_locks_per_transaction) with a thousand apps. With the app ids
# as literals, each statement plans (and locks) only its own apps' partitions.
_APPS_PER_STATEMENT = 50


def campaigns_due(now: datetime) -> list[tuple[int, str]]:
    """(app pk, campaign id) of every campaign whose run should be queued now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_app WHERE status = 'active' ORDER BY id")
        app_ids = [int(row[0]) for row in cursor.fetchall()]
    rows: list[Any] = []
    for start in range(0, len(app_ids), _APPS_PER_STATEMENT):
        chunk = app_ids[start : start + _APPS_PER_STATEMENT]
        literal_ids = ", ".join(str(app_id) for app_id in chunk)  # ints from the database: no injection
        with connection.cursor() as cursor:
            cursor.execute(_CAMPAIGNS_SQL.format(apps=literal_ids))
            rows.extend(cursor.fetchall())
    due = []
    for app_pk, object_id, data, resolved, lease_until in rows:
        if isinstance(data, str):
            data = json.loads(data)
        campaign = campaign_from_row(app_pk, object_id, data if isinstance(data, dict) else {})
        if campaign.status in ("pending", "scheduled"):
            if campaign.first_due(now) <= now:
                due.append((app_pk, object_id))
        elif resolved or lease_until is None or lease_until < now:
            due.append((app_pk, object_id))
    return due


def stale_claims_release(now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_pushdelivery SET state = 'queued', claimed_by = '', enqueued_at = NULL, updated_at = %s "
            "WHERE state = 'sending' AND claimed_at < %s",
            [now, now - STALE_CLAIM],
        )
        return cursor.rowcount


def deliveries_due(now: datetime) -> list[BatchOrder]:
    """Batches of due queued deliveries whose batch is not (or no longer) in the queue; marks them queued now."""
    requeue_before = now - timedelta(seconds=float(settings.HANGAR_PUSH_REQUEUE_AFTER_SECONDS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH due AS (
                SELECT id FROM messaging_pushdelivery
                WHERE state = 'queued' AND due_at <= %s AND (enqueued_at IS NULL OR enqueued_at < %s)
                ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED
            )
            UPDATE messaging_pushdelivery d SET enqueued_at = %s FROM due WHERE d.id = due.id
            RETURNING d.app_id, d.campaign_id, d.device_type, d.push_type, d.id
            """,
            [now, requeue_before, MAX_DELIVERIES_PER_TICK, now],
        )
        rows = cursor.fetchall()
    groups: dict[tuple[int, str, str, str], list[int]] = defaultdict(list)
    for app_pk, campaign_id, device_type, push_type, delivery_id in rows:
        groups[(app_pk, campaign_id, device_type, push_type)].append(delivery_id)
    size = int(settings.HANGAR_PUSH_BATCH_SIZE)
    return [
        BatchOrder(app_pk=key[0], campaign_id=key[1], delivery_ids=sorted(ids)[start : start + size])
        for key, ids in groups.items()
        for start in range(0, len(ids), size)
    ]


def deliveries_forget(now: datetime) -> int:
    """Delete delivery records of ended sends older than ``HANGAR_PUSH_DELIVERY_RETENTION_DAYS`` (some per tick)."""
    days = float(settings.HANGAR_PUSH_DELIVERY_RETENTION_DAYS)
    if days <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM messaging_pushdelivery WHERE id IN (SELECT id FROM messaging_pushdelivery "
            "WHERE state IN ('sent', 'failed', 'invalid') AND updated_at < %s LIMIT %s)",
            [now - timedelta(days=days), MAX_DELIVERIES_PER_TICK],
        )
        return cursor.rowcount


def push_tick(
    *, now: datetime | None = None, enqueue_runs: bool = True, first_time: Callable[[str], bool] | None = None
) -> TickResult:
    """One pass; queues the runs and batches it finds (``enqueue_runs`` False: only report them, for tests).

    ``first_time(key)`` says whether a campaign's run was not queued in the last minute (a run
    waiting behind a long queue is not queued again every tick); None: always queue.
    """
    from hangar.messaging.tasks import campaign_run_task

    now = now or datetime.now(UTC)
    deliveries_forget(now)
    released = stale_claims_release(now)
    campaigns = campaigns_due(now)
    batches = deliveries_due(now)
    if enqueue_runs:
        for app_pk, campaign_id in campaigns:
            if first_time is None or first_time(f"hangar:push:run-queued:{app_pk}:{campaign_id}"):
                campaign_run_task.apply_async(kwargs={"app_pk": app_pk, "push_status_id": campaign_id})
        for order in batches:
            batch_order_send(order)
    return TickResult(campaigns=campaigns, batches=batches, released=released)
