"""Committed object changes, published to Redis for LiveQuery (DESIGN.md section 6).

Published only after the transaction commits, on one channel per app, with the object
before and after the change and the ACL principals that may read each version, so the
realtime service can decide who receives the event without another database read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import redis.exceptions

from hangar.redis_async import get_redis

log = logging.getLogger(__name__)


def change_channel(app_pk: int) -> str:
    return f"hangar:changes:{app_pk}"


async def publish_change(
    *,
    app_pk: int,
    class_name: str,
    operation: str,  # create, update, delete
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    readers_before: list[str] | None = None,
    readers_after: list[str] | None = None,
) -> None:
    message = {
        "className": class_name, "op": operation, "original": before, "object": after,
        "readersBefore": readers_before, "readersAfter": readers_after,
    }  # fmt: skip
    try:
        await _publish_batched(change_channel(app_pk), orjson.dumps(message))
    except redis.exceptions.RedisError:
        # The write is committed; a lost realtime event must not turn it into an error.
        log.exception("could not publish a %s of %s for app %s", operation, class_name, app_pk)


# Writes that finish in the same event-loop turn publish in one pipelined round trip.
_pending: dict[asyncio.AbstractEventLoop, list[tuple[str, bytes, asyncio.Future[None]]]] = {}


async def _publish_batched(channel: str, payload: bytes) -> None:
    loop = asyncio.get_running_loop()
    batch = _pending.get(loop)
    if batch is None:
        batch = _pending[loop] = []
        loop.call_soon(lambda: loop.create_task(_flush(loop, batch)))
    done: asyncio.Future[None] = loop.create_future()
    batch.append((channel, payload, done))
    await done


async def _flush(loop: asyncio.AbstractEventLoop, batch: list[tuple[str, bytes, asyncio.Future[None]]]) -> None:
    if _pending.get(loop) is batch:
        del _pending[loop]
    try:
        async with get_redis().pipeline(transaction=False) as pipe:
            for channel, payload, _ in batch:
                pipe.publish(channel, payload)
            await pipe.execute()
    except Exception as exc:
        for *_, done in batch:
            if not done.done():
                done.set_exception(exc)
        return
    for *_, done in batch:
        if not done.done():
            done.set_result(None)
