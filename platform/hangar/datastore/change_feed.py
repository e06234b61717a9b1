"""Committed object changes, published to Redis for LiveQuery (DESIGN.md section 6).

Published only after the transaction commits, on one channel per app, with the object
before and after the change and the ACL principals that may read each version, so the
realtime service can decide who receives the event without another database read.

Only the classes someone listens to are published, as Parse Server publishes only its
``liveQuery.classNames``: a consumer of the feed (the realtime service) records the
classes it has subscribers for with ``live_classes_set`` *before* it confirms a
subscription. Every request reads that record in its admission round trip
(hangar.admission.registry), so a write admitted after the confirmation is published
and nothing is serialised or sent for classes nobody watches. Measured in-process, an
unconditional publish was a quarter of a write's CPU.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson
import redis.exceptions

from hangar.redis_async import get_redis

log = logging.getLogger(__name__)


def change_channel(app_pk: int) -> str:
    return f"hangar:changes:{app_pk}"


def live_classes_key(app_pk: int) -> str:
    return f"hangar:live:{app_pk}"


ALL_CLASSES = "*"


async def live_classes_set(app_pk: int, class_names: Iterable[str]) -> None:
    """Record which classes of the app have listeners (``"*"``: all); an empty set stops publishing."""
    names = sorted(set(class_names))
    redis = get_redis()
    if names:
        await redis.set(live_classes_key(app_pk), orjson.dumps(names))
    else:
        await redis.delete(live_classes_key(app_pk))


@lru_cache(maxsize=1024)
def live_classes_decode(raw: bytes | None) -> frozenset[str]:
    """The class names in a ``live_classes_key`` value (no value: none)."""
    if not raw:
        return frozenset()
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("unreadable live classes record %r: publishing every class", raw[:100])
        return frozenset({ALL_CLASSES})
    return frozenset(name for name in names if isinstance(name, str)) if isinstance(names, list) else frozenset()


def is_published(live_classes: frozenset[str] | None, class_name: str) -> bool:
    """Whether changes of ``class_name`` go to the feed (None: not known, so yes)."""
    return live_classes is None or class_name in live_classes or ALL_CLASSES in live_classes


async def publish_change(
    *,
    app_pk: int,
    live_classes: frozenset[str] | None,
    class_name: str,
    operation: str,  # create, update, delete
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    readers_before: list[str] | None = None,
    readers_after: list[str] | None = None,
) -> None:
    """Publish one committed change, if its class has listeners (``is_published``)."""
    if not is_published(live_classes, class_name):
        return
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
