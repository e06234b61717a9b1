"""Leases on the tasks a Celery worker holds, so that a worker's death, not a task's length, decides redelivery.

With Redis as the broker, kombu keeps every delivered, unacknowledged message in a sorted
set scored by its delivery time, and any worker puts a message back on its queue once
that score is older than the visibility timeout (kombu.transport.redis.QoS.restore_visible).
The timeout is one value for the whole broker, so it had to outlast the longest task, and
a task whose worker was SIGKILLed (or whose machine died) then waited that long. Here a
living worker moves the score of every message it still holds to "now" every third of the
timeout: a running task never looks abandoned, however long it runs, and the timeout can
be short, since it only measures how long a dead worker's tasks wait (docs/architecture.md,
"Faults").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from celery.worker import state

log = logging.getLogger(__name__)


def lease_renew_interval(visibility_timeout: int) -> int:
    """Renew three times per timeout, so a renewal delayed by a busy event loop still lands in time."""
    return max(1, visibility_timeout // 3)


def held_delivery_tags() -> list[str]:
    """Delivery tags of the messages this worker process holds: waiting for a pool slot, running, or due later."""
    tags = []
    for request in list(state.requests.values()):
        tag = getattr(request.message, "delivery_tag", None)
        if tag is not None:
            tags.append(tag)
    return tags


def leases_renew(channel: Any) -> int:
    """Move the held messages' delivery time to now; returns how many were renewed."""
    tags = held_delivery_tags()
    if not tags:
        return 0
    now = time.time()
    with channel.conn_or_acquire() as client:
        # XX: only messages still unacknowledged; one acknowledged meanwhile must not come back.
        return int(client.zadd(channel.unacked_index_key, dict.fromkeys(tags, now), xx=True, ch=True) or 0)


class TaskLeases(bootsteps.StartStopStep):
    """A consumer step: renews the leases from the worker's event loop while the worker consumes."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.timer_entry: Any = None

    def start(self, consumer: Any) -> None:
        channel = consumer.task_consumer.channel
        if not hasattr(channel, "unacked_index_key"):  # not the Redis transport: the broker tracks its consumers
            return
        timeout = int(channel.visibility_timeout)
        self.timer_entry = consumer.timer.call_repeatedly(
            lease_renew_interval(timeout), self._renew, (channel,), priority=10
        )

    def _renew(self, channel: Any) -> None:
        try:
            leases_renew(channel)
        except Exception:  # a broker blip: the next round renews; a lease only lapses after a whole timeout
            log.warning("could not renew task leases", exc_info=True)

    def stop(self, consumer: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
