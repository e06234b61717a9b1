"""Cross-process cache invalidation through per-app version counters in Redis.

Writers bump an app's counter after commit. The gateway reads the counter in the
same Redis pipeline as its rate-limit increment on every request (no extra round
trip), and reloads the app when the counter moved. So a rotated key or a deleted app
stops working in every process with the very next request, without relying on a
pub/sub message arriving in time.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

log = logging.getLogger(__name__)

_client: redis.Redis | None = None


def app_version_key(application_id: str) -> str:
    return f"hangar:appver:{application_id}"


def restoring_key(app_pk: int) -> str:
    """Held while a restore replaces the app's content (hangar.backups.lease): the Parse API refuses writes."""
    return f"hangar:restoring:{int(app_pk)}"


def app_changed_channel(application_id: str) -> str:
    """Pub/sub channel told of every change of an app, for holders of long-lived connections (LiveQuery)."""
    return f"hangar:app-changed:{application_id}"


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(str(settings.REDIS_URL))
    return _client


def publish_app_changed(application_id: str) -> None:
    """Tell every process that an app's keys, limits or status changed."""
    try:
        with _redis().pipeline(transaction=False) as pipe:
            pipe.incr(app_version_key(application_id))
            pipe.publish(app_changed_channel(application_id), b"1")
            pipe.execute()
    except redis.RedisError:
        # The write itself is committed; processes fall back to the cache TTL.
        log.exception("could not bump the version of app %s", application_id)


def publish_app_changed_on_commit(application_id: str) -> None:
    """publish_app_changed once the current transaction commits (at once outside one); never on rollback."""
    from django.db import transaction

    transaction.on_commit(lambda: publish_app_changed(application_id))


def app_state_remove(application_id: str, keys: list[str]) -> None:
    """Delete a purged app's own Redis keys (version counters, LiveQuery records); best effort.

    The app's version key is not deleted but expires once every process's cached record of
    the app has: a process that loaded the app before the key ever existed holds version
    None, and a deleted key would read None again and keep that record answering. An app's
    primary key and application id are never reused, so a key left behind harms nothing but
    memory: a Redis outage must not fail the purge, which is done by then.
    """
    try:
        with _redis().pipeline(transaction=False) as pipe:
            pipe.delete(*keys)
            pipe.expire(app_version_key(application_id), 2 * settings.HANGAR_APP_CACHE_SECONDS)
            pipe.execute()
    except redis.RedisError:
        log.warning("could not delete %d Redis keys of a purged app; they stay as garbage", len(keys))
