"""One Redis round trip for all the requests of an app that arrive together.

Every request must read its app's version counters (and count itself against the rate
limit) *after* it arrived, so that a key rotated before the request is never missed.
Requests that arrive in the same event-loop turn join one batch that is sent after all
of them have joined; a request arriving while a batch is already on the wire starts the
next one. So each request still gets a read taken after its arrival, at a fraction of
the Redis calls (and of redis-py's per-call CPU) under load.

A batch whose round trip fails (a connection dropped by a restart, a refused connect, an
error reply) does not fail its members: each makes the call on its own, once, and only a
member whose own call fails too answers 503. A timeout is the exception: the batch has
already waited out the client's deadline twice (its call and redis-py's one retry), and
members asking a server that does not answer again would only double the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, TimeoutError

# Read the version counters; for a rate-limited app add the batch's size to the current
# one-second window (the last key); for a metered request (hangar.analytics.metering) add it to
# the app's usage of this hour (a hash) and of this month (the two keys before the window).
# Returns the counters, then the window's new total, then the month's.
_ADMIT_LUA = """
local last = #KEYS
local n = tonumber(ARGV[2])
local versions_end = last - 1
if ARGV[3] == '1' then versions_end = last - 3 end
local replies = redis.call('MGET', unpack(KEYS, 1, versions_end))
local count = 0
if ARGV[1] == '1' then
    count = redis.call('INCRBY', KEYS[last], n)
    if count == n then redis.call('EXPIRE', KEYS[last], 2) end
end
local month = 0
if ARGV[3] == '1' then
    if redis.call('HINCRBY', KEYS[last - 2], 'requests', n) == n then redis.call('EXPIRE', KEYS[last - 2], 172800) end
    month = redis.call('INCRBY', KEYS[last - 1], n)
    if month == n then redis.call('EXPIRE', KEYS[last - 1], 3456000) end
end
replies[versions_end + 1] = count
replies[versions_end + 2] = month
return replies
"""

Versions = tuple[Any, ...]


class _BatchFailedError(Exception):
    """The batch's round trip failed in a way a member's own call may not: each member tries alone."""


_scripts: dict[int, AsyncScript] = {}
# Requests counted and Redis round trips made by this process (read by /metrics: plain integers,
# so the hot path pays no metrics library).
_counted = [0, 0]


def admission_counts() -> tuple[int, int]:
    """(requests counted, Redis round trips made) by this process since it started."""
    return _counted[0], _counted[1]


Counted = tuple[Versions, int, int]  # the counters, the position in the rate window, the position in the month
_open_batches: dict[tuple[int, str, str, bool], list[asyncio.Future[Counted]]] = {}


def _script(redis: Redis) -> AsyncScript:
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_ADMIT_LUA)
    return script


async def versions_and_count(redis: Redis, keys: Sequence[str], *, limited: bool, metered: bool = False) -> Counted:
    """The values of the version keys, this request's position in the rate-limit window ``keys[-1]``
    and, when ``metered`` (``keys[-3]`` and ``keys[-2]`` are the usage hour and month), in the month."""
    # One batch per app (its version key) and window: an address's window is per app too, but
    # keying by both keeps the batch's reads right whatever the window's name. The window changes
    # every second, so one batch never spans two hours or months.
    batch_key = (id(redis), keys[0], keys[-1], metered)
    loop = asyncio.get_running_loop()
    batch = _open_batches.get(batch_key)
    if batch is None:
        batch = _open_batches[batch_key] = []
        # Sent once every request that is ready in this loop turn has joined.
        loop.call_soon(lambda: loop.create_task(_send(redis, batch_key, batch, list(keys), limited, metered)))
    waiter: asyncio.Future[Counted] = loop.create_future()
    batch.append(waiter)
    try:
        return await waiter
    except _BatchFailedError:
        # If the batch's count did reach Redis before the failure, this request is counted twice in
        # this one-second window: under a fault, the limit errs on the side of limiting.
        *versions, total, month = await _script(redis)(keys=list(keys), args=_args(limited, metered, 1))
        return tuple(versions), int(total) if limited else 0, int(month)


def _args(limited: bool, metered: bool, size: int) -> list[str | int]:
    return ["1" if limited else "0", size, "1" if metered else "0"]


async def _send(
    redis: Redis, batch_key: tuple[int, str, str, bool], batch: list[asyncio.Future[Counted]],
    keys: list[str], limited: bool, metered: bool,
) -> None:  # fmt: skip
    if _open_batches.get(batch_key) is batch:
        del _open_batches[batch_key]  # later arrivals start the next batch
    _counted[0] += len(batch)
    _counted[1] += 1
    try:
        *versions, total, month = await _script(redis)(keys=keys, args=_args(limited, metered, len(batch)))
    except BaseException as exc:  # every waiter must hear of the failure
        retry_alone = isinstance(exc, RedisError) and not isinstance(exc, TimeoutError)
        for waiter in batch:
            if not waiter.done():
                waiter.set_exception(_BatchFailedError() if retry_alone else exc)
        if not isinstance(exc, Exception):
            raise
        return
    first, first_in_month = int(total) - len(batch), int(month) - len(batch)
    for position, waiter in enumerate(batch, start=1):
        if not waiter.done():
            counted = (tuple(versions), first + position if limited else 0, first_in_month + position if metered else 0)
            waiter.set_result(counted)
