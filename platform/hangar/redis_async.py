"""The data plane's asyncio Redis client, one per event loop (like hangar.db_pool).

Every call has a deadline: a Redis that stops answering (frozen, partitioned) costs a
request at most two socket timeouts (``HANGAR_REDIS_TIMEOUT_SECONDS``), not redis-py's
default of ten retries of five seconds each. A connection that Redis closed while it sat
idle (a restart, ``CLIENT KILL``, an idle timeout) fails its next command, which is
retried once on a new connection: the request never hears of it. (No periodic health-check
PING: the retry covers what it would catch, without its own retries inside each deadline.)
"""

from __future__ import annotations

import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

from hangar.loop_local import LoopLocal

_clients: LoopLocal[aioredis.Redis] = LoopLocal()


def get_redis() -> aioredis.Redis:
    client = _clients.get()
    if client is None:
        timeout = settings.HANGAR_REDIS_TIMEOUT_SECONDS
        client = aioredis.Redis.from_url(
            str(settings.REDIS_URL),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), retries=1),
            retry_on_error=[ConnectionError, TimeoutError],
            # No CLIENT SETINFO handshake: one round trip less per new connection, and no
            # second timeout inside connect() when Redis accepts but does not answer.
            driver_info=None,
        )
        _clients.set(client)
    return client


async def close_redis() -> None:
    client = _clients.pop()
    if client is not None:
        await client.aclose()
