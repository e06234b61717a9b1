"""The restore lease: while a restore of an app runs, the Parse API refuses the app's writes.

A worker restoring an app holds ``hangar:restoring:<app pk>`` in Redis (the restore's id,
with a time to live of ``LEASE_SECONDS``) and renews it as rows arrive. The gateway reads
the key in the Redis round trip every request already makes (hangar.admission.registry),
so the refusal costs no extra call; a worker that dies stops renewing, and the app takes
writes again within ``LEASE_SECONDS`` (its restore, one transaction, rolled back with it).
Reads go on during the restore and see the app as it was until the restore commits.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

from hangar.invalidation import restoring_key

LEASE_SECONDS = 60
_RENEW_EVERY = 5.0
_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(str(settings.REDIS_URL))
    return _client


class RestoreLease:
    """The lease of one restore on one app: taken, renewed at most every few seconds, released."""

    def __init__(self, app_pk: int, restore_id: str) -> None:
        self.key, self.restore_id = restoring_key(app_pk), restore_id
        self._renewed = 0.0

    def take(self) -> None:
        _redis().set(self.key, self.restore_id, ex=LEASE_SECONDS)
        self._renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self._renewed >= _RENEW_EVERY:
            self.take()

    def release(self) -> None:
        """Drop the lease if it is still this restore's (a later restore's lease is left alone)."""
        client = _redis()
        if client.get(self.key) == self.restore_id.encode():
            client.delete(self.key)


def restore_running(app_pk: int) -> bool:
    """Whether a restore of the app holds its lease now (for writers outside the Parse API)."""
    return bool(_redis().exists(restoring_key(app_pk)))
