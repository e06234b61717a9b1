"""Live connections and subscriptions per app, over every server process, for the dashboard.

Each realtime process writes its own counts for each app it serves into one Redis hash per
app (a field per process, with the time it stops counting), every few seconds
(``hangar.realtime.hub``); a process that dies stops counting once its field expires.
``app_live_stats`` (sync, for Django views) sums the fields still in force.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import orjson
import redis
from django.conf import settings

STATS_SECONDS = 5.0  # how often a process writes its counts
STATS_TTL_SECONDS = 15  # how long a written count is believed

_client: redis.Redis | None = None


def live_stats_key(app_pk: int) -> str:
    return f"hangar:live:{app_pk}:stats"


def stats_entry(connections: int, subscriptions: dict[str, int]) -> bytes:
    return orjson.dumps(
        {"connections": connections, "subscriptions": subscriptions, "until_ts": time.time() + STATS_TTL_SECONDS}
    )


def stats_sum(entries: Mapping[Any, Any], *, skip: str | None = None) -> dict[str, Any]:
    """The totals of a stats hash's fields still in force (``skip``: one process's own field)."""
    now = time.time()
    connections = 0
    subscriptions: dict[str, int] = {}
    for field, raw in entries.items():
        name = field.decode() if isinstance(field, bytes) else str(field)
        if name == skip:
            continue
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or float(entry.get("until_ts") or 0) <= now:
            continue
        connections += int(entry.get("connections") or 0)
        for class_name, count in (entry.get("subscriptions") or {}).items():
            subscriptions[class_name] = subscriptions.get(class_name, 0) + int(count)
    return {"connections": connections, "subscriptions": dict(sorted(subscriptions.items()))}


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        timeout = settings.HANGAR_REDIS_TIMEOUT_SECONDS
        _client = redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=timeout, socket_connect_timeout=timeout)
    return _client


def app_live_stats(app_pk: int) -> dict[str, Any]:
    """``{"connections": n, "subscriptions": {class: n}}`` for the app, over every live process (sync).

    Raises redis.RedisError when Redis is unavailable (the caller shows the stats as unknown).
    """
    return stats_sum(cast("dict[bytes, bytes]", _redis().hgetall(live_stats_key(app_pk))))
