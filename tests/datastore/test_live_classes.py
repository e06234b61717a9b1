"""The record of published classes is the union over every listening process, each with an expiry."""

from __future__ import annotations

import time

import orjson

from hangar.datastore.change_feed import live_classes_key, live_classes_set, live_members_key
from hangar.redis_async import get_redis

APP = 987_654  # no real app: only the Redis keys are involved


async def _published() -> list[str] | None:
    raw = await get_redis().get(live_classes_key(APP))
    return None if raw is None else orjson.loads(raw)


async def test_a_class_stays_published_while_any_process_listens():
    await live_classes_set(APP, ["Chat", "Game"], member="process-1")
    await live_classes_set(APP, ["Game", "Score"], member="process-2")
    assert await _published() == ["Chat", "Game", "Score"]
    await live_classes_set(APP, [], member="process-1")  # process 1 lost its last subscriber
    assert await _published() == ["Game", "Score"]
    await live_classes_set(APP, ["Score"], member="process-2")
    assert await _published() == ["Score"]
    await live_classes_set(APP, [], member="process-2")
    assert await _published() is None  # nobody listens: nothing is published


async def test_a_dead_process_stops_counting_once_its_entry_expires():
    redis = get_redis()
    expired = orjson.dumps({"classes": ["Ghost"], "until_ts": time.time() - 1})
    await redis.hset(live_members_key(APP), "crashed-process", expired)
    await live_classes_set(APP, ["Live"], member="process-1")
    assert await _published() == ["Live"]
    assert await redis.hkeys(live_members_key(APP)) == [b"process-1"]
    await live_classes_set(APP, [], member="process-1")
    assert await _published() is None
    assert await redis.ttl(live_classes_key(APP)) == -2
