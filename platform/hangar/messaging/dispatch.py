"""Queueing the engine's work on Celery: a campaign's run (Contract A's entry point) and its batches.

Nothing here is the only record of anything: a campaign is its ``_PushStatus`` row and a
delivery its ``messaging_pushdelivery`` row, and the periodic tick (hangar.messaging.push_tick)
queues again whatever is due and not running. So a lost message (the broker was down, the
process died right after the row was written) delays a send by a tick, and loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOrder:
    """A batch task to queue: deliveries of one campaign to send, at once or after ``countdown`` seconds."""

    app_pk: int
    campaign_id: str
    delivery_ids: list[int]
    countdown: float = 0.0


BatchEnqueue = Callable[[BatchOrder], Awaitable[None]]


def campaign_enqueue(*, app_pk: int, push_status_id: str) -> None:
    """Queue the run of a recorded campaign (sync and cheap: one message to the broker).

    Safe to call inside or after a request, and never raises: when the broker cannot be
    reached the campaign still starts, at the tick's next pass over pending rows.
    """
    from hangar.messaging.tasks import campaign_run_task

    try:
        campaign_run_task.apply_async(kwargs={"app_pk": app_pk, "push_status_id": push_status_id})
    except Exception:
        logger.warning("push campaign %s of app %s not queued; the tick will start it", push_status_id, app_pk)


def batch_order_send(order: BatchOrder) -> None:
    from hangar.messaging.tasks import push_batch_task

    push_batch_task.apply_async(
        kwargs={"app_pk": order.app_pk, "campaign_id": order.campaign_id, "delivery_ids": order.delivery_ids},
        countdown=order.countdown or None,
    )


async def batch_enqueue(order: BatchOrder) -> None:
    """Queue a batch task from async engine code (a broker failure is left to the tick: the rows are queued)."""
    try:
        await sync_to_async(batch_order_send, thread_sensitive=False)(order)
    except Exception:
        logger.warning("push batch of campaign %s not queued; the tick will queue it", order.campaign_id)
