"""One Celery beat schedules for the whole deployment, however many are running.

Every node of a deployment may run beat (deploy/systemd/hangar-beat.service), so that losing
a node does not stop the periodic tasks; two beats sending the same schedule would run each
task twice. Each beat tries to hold a lease in Redis (``SET NX PX`` with a token of its own,
renewed by compare-and-extend); only the holder sends due tasks, the others check again every
``RETRY_SECONDS``. A holder that dies stops renewing, and another beat takes over once the
lease has lapsed (``LEASE_SECONDS``). A holder frozen for longer than the lease could overlap
with its successor for one tick: the periodic tasks are idempotent (docs/STYLE: tasks), so a
task sent twice then changes nothing twice.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)

LEASE_KEY = "hangar:beat:leader"
LEASE_SECONDS = 30.0
# The holder renews at least this often (a third of the lease: one late renewal still lands in time).
RENEW_SECONDS = LEASE_SECONDS / 3
# A beat that does not hold the lease asks again this often.
RETRY_SECONDS = 5.0

_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class BeatLeadership:
    """A lease in Redis that at most one holder has at a time."""

    def __init__(self, client: redis.Redis, *, lease_seconds: float = LEASE_SECONDS, key: str = LEASE_KEY) -> None:
        self.client = client
        self.key = key
        self.lease_ms = int(lease_seconds * 1000)
        self.token = secrets.token_hex(16)

    def hold(self) -> bool:
        """Take the lease if it is free, or extend it if it is ours; whether we hold it now."""
        if self.client.set(self.key, self.token, nx=True, px=self.lease_ms):
            return True
        return bool(self.client.eval(_EXTEND, 1, self.key, self.token, self.lease_ms))

    def release(self) -> None:
        """Give the lease up (only if it is still ours), so another beat takes over at once."""
        self.client.eval(_RELEASE, 1, self.key, self.token)


class LeaderScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, sending due tasks only while it holds the deployment's lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.HANGAR_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.HANGAR_REDIS_TIMEOUT_SECONDS,
        )
        self.leadership = BeatLeadership(client)
        self.leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            leading = self.leadership.hold()
        except redis.RedisError:
            # Unknown whether the lease is still ours: send nothing (a lapse delays ticks, never doubles them).
            log.warning("beat could not reach Redis for its lease; sending nothing until it can", exc_info=True)
            leading = False
        if leading != self.leading:
            log.info("beat %s the deployment's schedule", "now sends" if leading else "no longer sends")
            self.leading = leading
        if not leading:
            return RETRY_SECONDS
        return min(float(super().tick(*args, **kwargs)), RENEW_SECONDS)

    def close(self) -> None:
        try:
            if self.leading:
                self.leadership.release()
        except redis.RedisError:
            log.warning("beat could not release its lease; it lapses in %s s", LEASE_SECONDS)
        super().close()
