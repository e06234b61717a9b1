"""One Redis round trip for all the requests that arrive together, whichever apps they are for.

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
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, TimeoutError

# One round trip for the requests of every app that arrived in the same loop turn. ARGV holds
# four values per app's group: its key count, whether it is rate-limited, its size (requests),
# whether it is metered; KEYS holds the groups' keys one group after the other. For each group:
# read its version counters; for a rate-limited group add its size to the current one-second
# window (its last key); for a metered group add it to the app's usage of this hour (a hash)
# and of this month (the two keys before the window). Returns, per group, the counters, then
# the window's new total, then the month's.
_ADMIT_LUA = """
local results = {}
local first = 1
for a = 1, #ARGV, 4 do
    local last = first + tonumber(ARGV[a]) - 1
    local n = tonumber(ARGV[a + 2])
    local metered = ARGV[a + 3] == '1'
    local versions_end = last - 1
    if metered then versions_end = last - 3 end
    local replies = redis.call('MGET', unpack(KEYS, first, versions_end))
    local count = 0
    if ARGV[a + 1] == '1' then
        count = redis.call('INCRBY', KEYS[last], n)
        if count == n then redis.call('EXPIRE', KEYS[last], 2) end
    end
    local month = 0
    if metered then
        if redis.call('HINCRBY', KEYS[last - 2], 'requests', n) == n then
            redis.call('EXPIRE', KEYS[last - 2], 172800)
        end
        month = redis.call('INCRBY', KEYS[last - 1], n)
        if month == n then redis.call('EXPIRE', KEYS[last - 1], 3456000) end
    end
    local versions = versions_end - first + 1
    replies[versions + 1] = count
    replies[versions + 2] = month
    results[#results + 1] = replies
    first = last + 1
end
return results
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


@dataclass
class _Group:
    """The requests of one app (and rate window) in a turn: they share one read and one count."""

    keys: list[str]
    limited: bool
    metered: bool
    waiters: list[asyncio.Future[Counted]] = field(default_factory=list)


# The turn being gathered, per Redis client: its groups by (version key, window, metered).
# Batching across apps, not only within one, keeps the cost of a request the same whether the
# load comes from one app or is spread over many (bench/density.py: one round trip per request
# when 100 apps took turns, against one per several requests of a single app).
_open_turns: dict[int, dict[tuple[str, str, bool], _Group]] = {}


def _script(redis: Redis) -> AsyncScript:
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_ADMIT_LUA)
    return script


async def versions_and_count(redis: Redis, keys: Sequence[str], *, limited: bool, metered: bool = False) -> Counted:
    """The values of the version keys, this request's position in the rate-limit window ``keys[-1]``
    and, when ``metered`` (``keys[-3]`` and ``keys[-2]`` are the usage hour and month), in the month."""
    loop = asyncio.get_running_loop()
    turn = _open_turns.get(id(redis))
    if turn is None:
        turn = _open_turns[id(redis)] = {}
        # Sent once every request that is ready in this loop turn has joined.
        loop.call_soon(lambda: loop.create_task(_send(redis, turn)))
    # One group per app (its version key) and window: an address's window is per app too, but
    # keying by both keeps the group's reads right whatever the window's name. The window changes
    # every second, so one group never spans two hours or months.
    group_key = (keys[0], keys[-1], metered)
    group = turn.get(group_key)
    if group is None:
        group = turn[group_key] = _Group(list(keys), limited, metered)
    waiter: asyncio.Future[Counted] = loop.create_future()
    group.waiters.append(waiter)
    try:
        return await waiter
    except _BatchFailedError:
        # If the batch's count did reach Redis before the failure, this request is counted twice in
        # this one-second window: under a fault, the limit errs on the side of limiting.
        [[*versions, total, month]] = await _script(redis)(keys=list(keys), args=_args(len(keys), limited, metered, 1))
        return tuple(versions), int(total) if limited else 0, int(month)


def _args(key_count: int, limited: bool, metered: bool, size: int) -> list[str | int]:
    return [key_count, "1" if limited else "0", size, "1" if metered else "0"]


async def _send(redis: Redis, turn: dict[tuple[str, str, bool], _Group]) -> None:
    if _open_turns.get(id(redis)) is turn:
        del _open_turns[id(redis)]  # later arrivals start the next turn
    groups = list(turn.values())
    keys: list[str] = []
    args: list[str | int] = []
    for group in groups:
        keys += group.keys
        args += _args(len(group.keys), group.limited, group.metered, len(group.waiters))
        _counted[0] += len(group.waiters)
    _counted[1] += 1
    try:
        replies = await _script(redis)(keys=keys, args=args)
    except BaseException as exc:  # every waiter must hear of the failure
        retry_alone = isinstance(exc, RedisError) and not isinstance(exc, TimeoutError)
        for group in groups:
            for waiter in group.waiters:
                if not waiter.done():
                    waiter.set_exception(_BatchFailedError() if retry_alone else exc)
        if not isinstance(exc, Exception):
            raise
        return
    for group, (*versions, total, month) in zip(groups, replies, strict=True):
        first, first_in_month = int(total) - len(group.waiters), int(month) - len(group.waiters)
        counters = tuple(versions)
        for position, waiter in enumerate(group.waiters, start=1):
            if not waiter.done():
                waiter.set_result((
                    counters, first + position if group.limited else 0,
                    first_in_month + position if group.metered else 0,
                ))  # fmt: skip
