"""The data plane's asyncio Redis client, one per event loop (like hangar.db_pool)."""

from __future__ import annotations

import redis.asyncio as aioredis
from django.conf import settings

from hangar.loop_local import LoopLocal

_clients: LoopLocal[aioredis.Redis] = LoopLocal()


def get_redis() -> aioredis.Redis:
    client = _clients.get()
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        _clients.set(client)
    return client


async def close_redis() -> None:
    client = _clients.pop()
    if client is not None:
        await client.aclose()
