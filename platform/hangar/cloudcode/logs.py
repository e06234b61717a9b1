"""Per-invocation log records of an app's cloud code, kept in Redis per app with a bound and a retention.

An invocation's record (name, outcome, timing, its ``request.log`` lines and captured
output) is buffered in the process and written in batches off the request path: the
response never waits for its log. Each app keeps its newest ``HANGAR_CLOUD_LOG_ENTRIES``
records, which expire ``HANGAR_CLOUD_LOG_RETENTION_DAYS`` after the last write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from django.conf import settings

from hangar.analytics.usage_keys import USAGE_HOUR_SECONDS, usage_hour_key
from hangar.loop_local import LoopLocal
from hangar.redis_async import get_redis

logger = logging.getLogger(__name__)
FLUSH_DELAY_SECONDS = 0.2
_MAX_BUFFERED = 10_000


def log_key(app_pk: int) -> str:
    return f"hangar:cloud:logs:{app_pk}"


class _Buffer:
    def __init__(self) -> None:
        self.entries: list[tuple[int, bytes]] = []
        self.flusher: asyncio.Task[None] | None = None
        # Per app: invocations, their wall-clock and their CPU milliseconds, added to the app's
        # metered usage at each flush.
        self.usage: dict[int, list[float]] = {}


_buffers: LoopLocal[_Buffer] = LoopLocal()


def log_record(app_pk: int, entry: dict[str, Any]) -> None:
    """Queue one invocation's record; written within FLUSH_DELAY_SECONDS."""
    buffer = _buffers.get()
    if buffer is None:
        buffer = _Buffer()
        _buffers.set(buffer)
    if len(buffer.entries) >= _MAX_BUFFERED:
        return  # Redis is not keeping up: drop rather than grow without bound
    entry.setdefault("at", time.time())
    buffer.entries.append((app_pk, orjson.dumps(entry)))
    usage = buffer.usage.setdefault(app_pk, [0, 0.0, 0.0])
    usage[0] += 1
    usage[1] += float(entry.get("ms") or 0)
    usage[2] += float(entry.get("cpuMs") or 0)  # none for a function served by a webhook: not our CPU
    if buffer.flusher is None or buffer.flusher.done():
        buffer.flusher = asyncio.ensure_future(_flush_soon(buffer))


async def _flush_soon(buffer: _Buffer) -> None:
    await asyncio.sleep(FLUSH_DELAY_SECONDS)
    await log_flush(buffer)


async def log_flush(buffer: _Buffer | None = None) -> None:
    buffer = buffer or _buffers.get()
    if buffer is None or not buffer.entries:
        return
    entries, buffer.entries = buffer.entries, []
    usage, buffer.usage = buffer.usage, {}
    by_app: dict[int, list[bytes]] = {}
    for app_pk, payload in entries:
        by_app.setdefault(app_pk, []).append(payload)
    try:
        redis = get_redis()
        pipe = redis.pipeline(transaction=False)
        for app_pk, payloads in by_app.items():
            key = log_key(app_pk)
            pipe.lpush(key, *payloads)
            pipe.ltrim(key, 0, settings.HANGAR_CLOUD_LOG_ENTRIES - 1)
            pipe.expire(key, settings.HANGAR_CLOUD_LOG_RETENTION_DAYS * 86400)
        _usage_add(pipe, usage)
        await pipe.execute()
    except Exception:
        logger.warning("cloud-code log records lost: Redis unavailable (%d records)", len(entries))


def _usage_add(pipe: Any, usage: dict[int, list[float]]) -> None:
    """The invocations in this flush, into each app's metered usage of this hour (hangar.analytics.metering)."""
    epoch_hour = int(time.time()) // 3600
    for app_pk, (count, ms, cpu_ms) in usage.items():
        key = usage_hour_key(app_pk, epoch_hour)
        pipe.hincrby(key, "function_invocations", int(count))
        pipe.hincrby(key, "function_ms", round(ms))
        pipe.hincrby(key, "function_cpu_ms", round(cpu_ms))
        pipe.expire(key, USAGE_HOUR_SECONDS)


async def log_records(app_pk: int, *, limit: int = 100, level: str | None = None) -> list[dict[str, Any]]:
    """The newest records first; ``level="error"`` keeps only failed invocations and error lines."""
    await log_flush()
    redis = get_redis()
    raw = await redis.lrange(log_key(app_pk), 0, max(0, settings.HANGAR_CLOUD_LOG_ENTRIES - 1))
    records = [orjson.loads(item) for item in raw]
    if level == "error":
        records = [r for r in records if r.get("outcome") == "error" or any(
            line.get("level") == "error" for line in r.get("lines", [])
        )]  # fmt: skip
    return records[:limit]
