"""Celery tasks of the push engine: a campaign's run, a batch of deliveries, and the periodic tick."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from hangar.messaging.push_tick import BATCH_TIME_LIMIT
from hangar.task_loop import run_in_own_loop


def _task_id(task: Any) -> str:
    # The broker redelivers a message under the same id: that is how a run or a batch recognises
    # the claims its dead predecessor left behind (hangar.messaging.deliveries).
    return str(task.request.id or "")


# A task that fails (a lost database connection, a statement timeout) is retried under the same
# task id, so it finds the claims its failed run left (hangar.messaging.deliveries); both are idempotent.
_RETRIES: dict[str, Any] = {
    "autoretry_for": (Exception,), "retry_backoff": 5, "retry_backoff_max": 300, "max_retries": 8,
}  # fmt: skip


@shared_task(bind=True, name="messaging.campaign_run", time_limit=3600, ignore_result=True, **_RETRIES)
def campaign_run_task(self: Any, *, app_pk: int, push_status_id: str) -> str:
    """Resolve a campaign's installations into deliveries and queue their batches (idempotent)."""
    from hangar.messaging.campaign_runs import campaign_run

    task_id = _task_id(self)
    return run_in_own_loop(lambda: campaign_run(app_pk=app_pk, campaign_id=push_status_id, task_id=task_id))


@shared_task(bind=True, name="messaging.push_batch", time_limit=BATCH_TIME_LIMIT, ignore_result=True, **_RETRIES)
def push_batch_task(self: Any, *, app_pk: int, campaign_id: str, delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch of deliveries (idempotent: marked deliveries are never sent again)."""
    from hangar.messaging.batch_sends import batch_send

    task_id = _task_id(self)

    async def work() -> dict[str, int]:
        result = await batch_send(app_pk=app_pk, campaign_id=campaign_id, delivery_ids=delivery_ids, task_id=task_id)
        return {"sent": result.sent, "failed": result.failed, "invalid": result.invalid, "retried": result.retried}

    return run_in_own_loop(work)


RUN_REQUEUE_SECONDS = 60  # a campaign's run is queued by the tick at most this often


@shared_task(name="messaging.push_tick", time_limit=120, ignore_result=True)
def push_tick_task() -> None:
    """Queue what is due (hangar.messaging.push_tick); one tick at a time across beat processes."""
    import redis
    from django.conf import settings

    from hangar.messaging.push_tick import push_tick

    client = redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=5)
    try:
        if not client.set("hangar:push:tick", "1", nx=True, ex=max(1, int(settings.HANGAR_PUSH_TICK_SECONDS) - 1)):
            return
        push_tick(first_time=lambda key: bool(client.set(key, "1", nx=True, ex=RUN_REQUEUE_SECONDS)))
    finally:
        client.close()
