"""The data plane's asyncio Redis client, one per event loop (like hangar.db_pool)."""

from __future__ import annotations

import asyncio
import weakref

import redis.asyncio as aioredis
from django.conf import settings

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


_last: tuple[asyncio.AbstractEventLoop, aioredis.Redis] | None = None


def get_redis() -> aioredis.Redis:
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last is not None and last[0] is loop:  # the common case: one loop per process
        return last[1]
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        _clients[loop] = client
    _last = (loop, client)
    return client


async def close_redis() -> None:
    global _last
    _last = None
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
